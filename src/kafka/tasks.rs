//! The stages as Kafka tasks: partition *p* of a stage's internal topic is one task, whose
//! state comes from that partition alone. Each task turns its input records into engine
//! calls and the engine's outputs into records for the next topic.

use super::expiry::Expiry;
use super::meters::Meters;
use super::sink::{AsItCame, Sink};
use super::topology::Topology;
use super::watermark::WatermarkVector;
use super::wire::{
    decode, encode, InputMessage, OrderRecord, SellerRecord, Source, TrackingRecord, Translator,
    WireError,
};
use crate::carriers::CarrierRegistry;
use crate::config::{EngineConfig, OutputFormat};
use crate::engine::intern::Interner;
use crate::engine::messages::TrackingInput;
use crate::engine::order::{ConfirmOutcome, OrderOutput, OrderStage};
use crate::engine::seller::{SellerStage, SellerUpdate};
use crate::engine::tracking::{TrackingOutput, TrackingStage};
use crate::event::{Confirmation, Millis, Scan};
use rdkafka::error::KafkaError;
use rdkafka::message::Header;
use std::collections::HashMap;
use std::sync::Arc;

/// Errors of a task.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// An internal record could not be read.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A record could not be produced.
    #[error("producing: {0}")]
    Kafka(#[from] KafkaError),
}

/// What every task needs from its instance.
pub struct Ctx<'a> {
    /// Interned strings of this instance.
    pub syms: &'a mut Interner,
    /// Carriers.
    pub carriers: &'a Arc<CarrierRegistry>,
    /// The transactional producer.
    pub sink: &'a Sink,
    /// Topic names and partition counts.
    pub topo: &'a Topology,
    /// Rules' parameters.
    pub engine: &'a EngineConfig,
    /// Output encoding.
    pub format: OutputFormat,
    /// Metric handles.
    pub meters: &'a mut Meters,
}

impl Ctx<'_> {
    fn translator(&mut self) -> Translator<'_> {
        Translator {
            syms: self.syms,
            carriers: self.carriers,
        }
    }

    /// Writes an output record, keyed, as JSON or as its protobuf message (`to_proto`).
    fn send_output<T: serde::Serialize>(
        &self,
        topic: &str,
        key: &str,
        record: &T,
        to_proto: fn(&T) -> Vec<u8>,
    ) -> Result<(), KafkaError> {
        let payload = match self.format {
            OutputFormat::Json => serde_json::to_vec(record).unwrap_or_default(),
            OutputFormat::Protobuf => to_proto(record),
        };
        self.sink
            .send(topic, None, Some(key.as_bytes()), Some(&payload), None)
    }

    /// Sends a record to every partition of an internal topic.
    pub fn broadcast(&self, topic: &str, record: &[u8]) -> Result<(), KafkaError> {
        if self.sink.muted {
            return Ok(());
        }
        for p in 0..self.topo.internal_partitions {
            self.sink.send_internal(topic, Some(p), None, record)?;
        }
        Ok(())
    }

    /// Writes a late input message as it came (key, value and headers) to the late-events
    /// topic, with headers naming its source and why it was late.
    fn send_late_event(
        &self,
        topic: &str,
        original: &InputMessage,
        reason: &str,
    ) -> Result<(), KafkaError> {
        if !self.sink.muted {
            super::meters::late_event(topic, reason);
        }
        let came = AsItCame {
            topic,
            partition: original.partition,
            offset: original.offset,
            key: original.key.as_deref(),
            value: Some(&original.value),
            headers: original.headers.iter().map(|(key, value)| Header {
                key,
                value: value.as_ref().map(|v| v.as_slice()),
            }),
        };
        self.sink
            .send_as_it_came(&self.topo.late_events, came, ("vtrack.late.reason", reason))
    }

    /// Sends the order stage's outputs on; `by_event`: an event (not a closing window)
    /// caused them.
    fn route_order_output(&mut self, out: OrderOutput, by_event: bool) -> Result<(), KafkaError> {
        if self.sink.muted {
            return Ok(()); // a restore: all of it was written before
        }
        for msg in &out.to_tracking {
            let (record, key) = match msg {
                TrackingInput::Subscribe(s) => {
                    (self.translator().subscribe_out(s), s.tracking.decode())
                }
                TrackingInput::Unsubscribe(u) => {
                    (self.translator().unsubscribe_out(u), u.tracking.decode())
                }
                TrackingInput::Scan(_) => continue,
            };
            self.sink.send_internal(
                &self.topo.tracking_events,
                None,
                Some(key.as_bytes()),
                &encode(&record),
            )?;
        }
        for d in &out.to_seller {
            let record = self.translator().delta_out(d);
            let key = self.syms.resolve(d.seller).to_string();
            self.sink.send_internal(
                &self.topo.seller_events,
                None,
                Some(key.as_bytes()),
                &encode(&record),
            )?;
        }
        let now = super::processor::wall_now();
        for v in &out.verdicts {
            self.meters
                .verdict(v, now, self.sink.arrival.get(), by_event);
            let topic = &self.topo.verdicts;
            self.send_output(topic, &v.key(), v, crate::codec::verdict_to_proto)?;
        }
        for l in &out.late_confirmations {
            self.meters.late_confirmation(l);
            let topic = &self.topo.late_confirmations;
            self.send_output(topic, &l.key(), l, crate::codec::late_confirmation_to_proto)?;
        }
        Ok(())
    }
}

/// The key of an order's records on `<app>-order-events`.
pub fn order_key(seller: &str, order: &str) -> String {
    format!("{seller}/{order}")
}

/// Partition *p* of the order stage.
pub struct OrderTask {
    /// The stage.
    pub stage: OrderStage,
    /// Announcements of every upstream source.
    pub clock: WatermarkVector,
    /// Event time last applied.
    pub now: Millis,
    /// Raw event time last forwarded downstream.
    pub forwarded: Millis,
    /// This task's partition.
    pub partition: i32,
    /// When it last dropped orders no later event can change.
    pub expiry: Expiry,
    /// When the next snapshot of the task is due.
    pub snap: super::snapshot::SnapshotClock,
}

impl OrderTask {
    /// An empty task.
    pub fn new(partition: i32, ctx: &Ctx<'_>) -> Self {
        let mut sources = ctx.topo.input_sources();
        sources.extend((0..ctx.topo.internal_partitions).map(Source::Tracking));
        OrderTask {
            stage: OrderStage::new(ctx.engine.clone(), ctx.carriers.clone(), true),
            clock: WatermarkVector::new(sources),
            now: Millis::MIN,
            forwarded: Millis::MIN,
            partition,
            expiry: Expiry::for_order_task(),
            snap: Default::default(),
        }
    }

    /// Applies one record of `<app>-order-events`.
    pub fn handle(&mut self, payload: &[u8], ctx: &mut Ctx<'_>) -> Result<(), TaskError> {
        self.snap.records += 1;
        let mut out = OrderOutput::default();
        match decode::<OrderRecord>(payload)? {
            OrderRecord::Confirmation(c, original) => {
                match self.stage.confirmation(&c, ctx.syms, &mut out) {
                    ConfirmOutcome::Late => {
                        let topic = &ctx.topo.confirmations;
                        ctx.send_late_event(topic, &original, "window_closed")?;
                    }
                    ConfirmOutcome::Duplicate if !ctx.sink.muted => {
                        super::meters::duplicate_event(&ctx.topo.confirmations);
                    }
                    _ => {}
                }
            }
            OrderRecord::Facts {
                package,
                seq,
                facts,
            } => {
                let msg = ctx.translator().facts_in(&package, seq, &facts);
                self.stage.facts(msg, ctx.syms, &mut out);
            }
            OrderRecord::Watermark { source, time } => {
                if self.clock.announce(source, time) {
                    return self.tick(ctx);
                }
            }
        }
        ctx.route_order_output(out, true)?;
        Ok(())
    }

    /// Moves event time to what every source has announced, less the allowed lateness, and
    /// forwards the raw minimum to every seller task. Runs as watermark records are read, so
    /// the task's state is a function of its input log (a restore re-reads it).
    fn tick(&mut self, ctx: &mut Ctx<'_>) -> Result<(), TaskError> {
        let Some(min) = self.clock.min() else {
            return Ok(());
        };
        let now = min.saturating_sub(ctx.engine.allowed_lateness);
        if now > self.now {
            self.now = now;
            let mut out = OrderOutput::default();
            self.stage.advance(now, ctx.syms, &mut out);
            ctx.route_order_output(out, false)?;
            if self.expiry.due(now) {
                self.expire(now, ctx)?;
            }
        }
        if min > self.forwarded {
            self.forwarded = min;
            let record = encode(&SellerRecord::Watermark {
                source: Source::Order(self.partition),
                time: min,
            });
            ctx.broadcast(&ctx.topo.seller_events, &record)?;
        }
        Ok(())
    }
}

impl OrderTask {
    /// Drops the orders no later event can change, then tells every tracking task how far
    /// this task has got, so that they can drop the scans no subscription to come can reach.
    fn expire(&mut self, now: Millis, ctx: &mut Ctx<'_>) -> Result<(), TaskError> {
        let dropped = self.stage.expire();
        if !ctx.sink.muted {
            super::meters::expired("order", dropped);
        }
        let record = encode(&TrackingRecord::OrderProgress {
            source: Source::Order(self.partition),
            time: now,
        });
        ctx.broadcast(&ctx.topo.tracking_events, &record)?;
        Ok(())
    }
}

/// Partition *p* of the tracking stage.
pub struct TrackingTask {
    /// The stage.
    pub stage: TrackingStage,
    /// Announcements of every input partition.
    pub clock: WatermarkVector,
    /// Event time last applied.
    pub now: Millis,
    /// Raw event time last forwarded downstream.
    pub forwarded: Millis,
    /// This task's partition.
    pub partition: i32,
    /// How far every order task has got, and when this task last dropped state.
    pub expiry: Expiry,
    /// When the next snapshot of the task is due.
    pub snap: super::snapshot::SnapshotClock,
}

impl TrackingTask {
    /// An empty task.
    pub fn new(partition: i32, ctx: &Ctx<'_>) -> Self {
        TrackingTask {
            stage: TrackingStage::new(ctx.engine.clone()).following_order_progress(),
            clock: WatermarkVector::new(ctx.topo.input_sources()),
            now: Millis::MIN,
            forwarded: Millis::MIN,
            partition,
            expiry: Expiry::for_tracking_task(ctx.topo.internal_partitions),
            snap: Default::default(),
        }
    }

    /// Applies one record of `<app>-tracking-events`.
    pub fn handle(&mut self, payload: &[u8], ctx: &mut Ctx<'_>) -> Result<(), TaskError> {
        self.snap.records += 1;
        let mut out = TrackingOutput::default();
        let mut late_scan: Option<InputMessage> = None;
        match decode::<TrackingRecord>(payload)? {
            TrackingRecord::Scan(scan, original) => {
                let Some(msg) = ctx.translator().scan_in(&scan) else {
                    return Ok(());
                };
                self.stage.handle(TrackingInput::Scan(msg), &mut out);
                late_scan = Some(original);
            }
            TrackingRecord::Subscribe {
                package,
                seq,
                tracking,
                from,
                to,
                accepted,
            } => {
                let s = ctx
                    .translator()
                    .subscribe_in(&package, seq, &tracking, from, to, &accepted);
                self.stage.handle(TrackingInput::Subscribe(s), &mut out);
            }
            TrackingRecord::Unsubscribe { package, tracking } => {
                let u = crate::engine::messages::Unsubscribe {
                    package: ctx.translator().package_in(&package),
                    tracking: tracking.as_str().into(),
                };
                self.stage.handle(TrackingInput::Unsubscribe(u), &mut out);
            }
            TrackingRecord::Watermark { source, time } => {
                if self.clock.announce(source, time) {
                    self.tick(ctx)?;
                }
            }
            TrackingRecord::OrderProgress { source, time } => {
                if let Some(bound) = self.expiry.order_progress(source, time, ctx.engine) {
                    let dropped = self.stage.expire_before(bound);
                    if !ctx.sink.muted {
                        super::meters::expired("tracking", dropped);
                    }
                }
            }
        }
        if out.repeated && !ctx.sink.muted {
            super::meters::duplicate_event(&ctx.topo.scans);
        }
        if let (Some(original), Some((_, reason))) = (late_scan, out.late.first()) {
            ctx.send_late_event(&ctx.topo.scans, &original, reason.as_str())?;
        }
        for f in out.facts.iter().filter(|_| !ctx.sink.muted) {
            let record = ctx.translator().facts_out(f);
            let key = order_key(
                ctx.syms.resolve(f.package.seller),
                &f.package.order.decode(),
            );
            ctx.sink.send_internal(
                &ctx.topo.order_events,
                None,
                Some(key.as_bytes()),
                &encode(&record),
            )?;
        }
        Ok(())
    }

    /// Moves event time and forwards the raw minimum to every order task. Every record
    /// before the watermark has been answered already: answers are produced as records are
    /// read, ahead of this forward in each order partition.
    fn tick(&mut self, ctx: &Ctx<'_>) -> Result<(), TaskError> {
        let Some(min) = self.clock.min() else {
            return Ok(());
        };
        let now = min.saturating_sub(ctx.engine.allowed_lateness);
        if now > self.now {
            self.now = now;
            self.stage.advance(now);
        }
        if min > self.forwarded {
            self.forwarded = min;
            let record = encode(&OrderRecord::Watermark {
                source: Source::Tracking(self.partition),
                time: min,
            });
            ctx.broadcast(&ctx.topo.order_events, &record)?;
        }
        Ok(())
    }
}

/// Partition *p* of the seller stage.
pub struct SellerTask {
    /// The stage.
    pub stage: SellerStage,
    /// Announcements of every order task.
    pub clock: WatermarkVector,
    /// This task's partition.
    pub partition: i32,
    /// Keys of the `*` rows last written at risk, with their window.
    pub at_risk: HashMap<String, u32>,
    /// When the next snapshot of the task is due.
    pub snap: super::snapshot::SnapshotClock,
}

impl SellerTask {
    /// An empty task.
    pub fn new(partition: i32, ctx: &Ctx<'_>) -> Self {
        SellerTask {
            stage: SellerStage::new(ctx.engine.clone()),
            clock: WatermarkVector::new(
                (0..ctx.topo.internal_partitions)
                    .map(Source::Order)
                    .collect(),
            ),
            partition,
            at_risk: HashMap::new(),
            snap: Default::default(),
        }
    }

    /// Applies one record of `<app>-seller-events`.
    pub fn handle(&mut self, payload: &[u8], ctx: &mut Ctx<'_>) -> Result<(), TaskError> {
        self.snap.records += 1;
        match decode::<SellerRecord>(payload)? {
            SellerRecord::Delta { seller, old, new } => {
                let d = ctx.translator().delta_in(&seller, &old, &new);
                self.stage.apply(&d);
            }
            SellerRecord::Watermark { source, time } => {
                // Rows are written at the commit (`tick`), as of the time announced by then.
                self.clock.announce(source, time);
            }
        }
        Ok(())
    }

    /// Writes the seller rows that changed, as of this task's event time. Runs at every
    /// commit only, so a row is written at most once per commit interval (contract section 6).
    pub fn tick(&mut self, ctx: &mut Ctx<'_>) -> Result<(), TaskError> {
        let Some(min) = self.clock.min() else {
            return Ok(());
        };
        let as_of = min.saturating_sub(ctx.engine.allowed_lateness);
        for update in self.stage.take_updates(as_of, ctx.syms) {
            match update {
                SellerUpdate::Record(r) => {
                    if r.category == "*" && r.at_risk {
                        self.at_risk.insert(r.key(), r.window_days);
                    } else {
                        self.at_risk.remove(&r.key());
                    }
                    let topic = &ctx.topo.seller_vtr;
                    ctx.send_output(topic, &r.key(), &r, crate::codec::seller_vtr_to_proto)?;
                }
                SellerUpdate::Tombstone(key) => {
                    self.at_risk.remove(&key);
                    ctx.sink
                        .send(&ctx.topo.seller_vtr, None, Some(key.as_bytes()), None, None)?;
                }
            }
        }
        Ok(())
    }
}

/// Encodes a validated confirmation, with the input message it came in, for
/// `<app>-order-events`.
pub fn order_record(c: Confirmation, original: InputMessage) -> Vec<u8> {
    encode(&OrderRecord::Confirmation(c, original))
}

/// Encodes a validated scan, with the input message it came in, for `<app>-tracking-events`.
pub fn tracking_record(s: Scan, original: InputMessage) -> Vec<u8> {
    encode(&TrackingRecord::Scan(s, original))
}
