//! Recovery from failed transactions, in process: on an abortable error the open transaction
//! is aborted, every task's state is rebuilt from the committed offsets and the consumer
//! rewinds there; on a fenced (fatal) producer, a new producer with the same transactional id
//! replaces it first. Outputs of the failed transaction were never visible to a
//! `read_committed` reader, so nothing is lost or doubled.

use super::processor::{RunError, Worker, TXN_TIMEOUT};
use super::tasks::TaskError;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::time::{Duration, Instant};
use tracing::warn;

/// More failed transactions than this within [`FAILURE_WINDOW`] stop the instance.
pub const MAX_FAILURES: usize = 5;
/// See [`MAX_FAILURES`].
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// What a failed transaction needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnFailure {
    /// Abort and retry with the same producer.
    Abortable,
    /// The producer is unusable (fenced or fatal): build a new one, then retry.
    Fatal,
}

/// Whether an error is a transaction failure the instance recovers from, and how.
pub fn classify(e: &RunError) -> Option<TxnFailure> {
    let k = match e {
        RunError::Kafka(k) | RunError::Task(TaskError::Kafka(k)) => k,
        _ => return None,
    };
    match k {
        KafkaError::Transaction(t) if t.is_fatal() => Some(TxnFailure::Fatal),
        KafkaError::Transaction(t) if t.txn_requires_abort() => Some(TxnFailure::Abortable),
        KafkaError::MessageProduction(
            RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch,
        ) => Some(TxnFailure::Fatal),
        _ => None,
    }
}

/// The transactional producer's first retry backoff, unless `kafka.properties` sets
/// `retry.backoff.ms`: 10 ms rather than librdkafka's 100 ms. Right after a commit the
/// coordinator still writes the commit markers, and the next transaction's
/// `send_offsets_to_transaction` is refused (`CONCURRENT_TRANSACTIONS`) until it is done; at
/// 100 ms a retry cost each commit about that much under load. librdkafka doubles the
/// backoff at each further retry, up to `retry.backoff.max.ms` (1 s).
const RETRY_BACKOFF_MS: &str = "10";

/// The instance's transactional producer: `transactional.id = <application_id>-<instance>`,
/// transactions initialised and the first one begun.
pub fn transactional_producer(
    client: &ClientConfig,
    transactional_id: &str,
) -> Result<BaseProducer, KafkaError> {
    let producer: BaseProducer = client
        .clone()
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        // A restore runs while a transaction is open; it must not outlive the transaction.
        // A crashed instance's open transaction is fenced at once by its restart anyway.
        .set("transaction.timeout.ms", "300000")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set(
            "retry.backoff.ms",
            client.get("retry.backoff.ms").unwrap_or(RETRY_BACKOFF_MS),
        )
        .create()?;
    producer.init_transactions(TXN_TIMEOUT)?;
    producer.begin_transaction()?;
    Ok(producer)
}

/// Ends whatever transaction an earlier process left open under `transactional_id` (a
/// producer that initialises transactions under an id fences that id's older producers and
/// aborts their open transaction), so that `read_committed` readers do not wait for it to
/// time out.
pub fn fence(client: &ClientConfig, transactional_id: &str) -> Result<(), KafkaError> {
    let producer: BaseProducer = client
        .clone()
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .create()?;
    producer.init_transactions(TXN_TIMEOUT)
}

/// Counts recent failures, so a failure that keeps coming back stops the instance.
#[derive(Debug, Default)]
pub struct FailureBudget {
    recent: Vec<Instant>,
}

impl FailureBudget {
    /// Records a failure; false when there were too many lately.
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.recent
            .retain(|t| now.duration_since(*t) < FAILURE_WINDOW);
        self.recent.push(now);
        self.recent.len() <= MAX_FAILURES
    }
}

impl Worker {
    /// Recovers from a failed transaction (see the module documentation).
    pub(super) fn recover<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        failure: TxnFailure,
        client: &ClientConfig,
        transactional_id: &str,
    ) -> Result<(), RunError> {
        match failure {
            TxnFailure::Abortable => self.abort()?,
            TxnFailure::Fatal => {
                self.meters.aborts.increment(1);
                self.sink.producer = transactional_producer(client, transactional_id)?;
            }
        }
        let assignment = consumer.assignment()?;
        let committed = consumer.committed_offsets(assignment.clone(), TXN_TIMEOUT)?;
        self.revoke(&assignment);
        self.forget_announcements();
        self.assign(&assignment, &committed)?;
        let mut rewind = TopicPartitionList::new();
        for e in committed.elements() {
            let offset = match e.offset() {
                Offset::Offset(o) => Offset::Offset(o),
                _ => Offset::Beginning,
            };
            rewind.add_partition_offset(e.topic(), e.partition(), offset)?;
        }
        if rewind.count() > 0 {
            let sought = consumer.seek_partitions(rewind, TXN_TIMEOUT)?;
            for e in sought.elements() {
                if let Err(err) = e.error() {
                    return Err(RunError::Restore(format!(
                        "rewinding {}[{}] to its committed offset: {err}",
                        e.topic(),
                        e.partition()
                    )));
                }
            }
        }
        warn!(
            ?failure,
            partitions = assignment.count(),
            "transaction failed: aborted, state rebuilt from the committed offsets"
        );
        Ok(())
    }
}

/// A fault to inject, for tests of the recovery: with `VTRACK_FAULT_ABORT_EVERY=n`, every
/// n-th commit is replaced by the recovery from an abortable error (abort, rebuild, rewind).
#[derive(Debug, Default)]
pub struct FaultInjection {
    every: Option<u64>,
    commits: u64,
}

impl FaultInjection {
    /// Reads `VTRACK_FAULT_ABORT_EVERY`; unset or 0 injects nothing.
    pub fn from_env() -> Self {
        let every = std::env::var("VTRACK_FAULT_ABORT_EVERY")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0);
        if let Some(n) = every {
            warn!(
                every = n,
                "fault injection: every n-th transaction is aborted"
            );
        }
        FaultInjection { every, commits: 0 }
    }

    /// Whether the commit due now is to fail.
    pub fn abort_now(&mut self) -> bool {
        let Some(n) = self.every else {
            return false;
        };
        self.commits += 1;
        self.commits.is_multiple_of(n)
    }
}
