//! The instance id of `vtrack run`. It names the transactional producer and the static group
//! member, so a restarted instance fences its own zombie at once; so two live processes must
//! never hold the same one.
//!
//! An id that is configured (`kafka.instance_id`) or given in `VTRACK_INSTANCE_ID` is used as
//! it is. Otherwise the instance claims the first free slot of this machine: `<host>` (from
//! `HOSTNAME`, else the kernel's host name in `/proc/sys/kernel/hostname`, else `vtrack`), then
//! `<host>-1`, `<host>-2`, … A slot is an exclusive lock on a file under the temporary
//! directory, held for the life of the process and released by the system when it ends (also
//! on kill -9). So instances started from one configuration on one machine share the work,
//! and a restarted one takes the lowest free slot. That may not be the one it had: the slots
//! of this machine whose process is gone ([`stale_slots`]) may hold a transaction left open by
//! a kill, which would stall every `read_committed` reader until it times out, so the
//! processor fences them at start-up.

use crate::config::KafkaConfig;
use std::fs::File;
use std::path::PathBuf;
use tracing::warn;

/// An instance id, with the slot lock that keeps it this process's own (when claimed).
#[derive(Debug)]
pub struct InstanceId {
    /// The id.
    pub id: String,
    /// Held while the process lives.
    _slot: Option<File>,
    /// The other slots of this machine whose process is gone, locked while they are fenced
    /// (empty when the id was given).
    pub stale: Vec<InstanceId>,
}

/// Most slots tried on one machine before giving up on claiming one.
const MAX_SLOTS: usize = 1024;

/// The instance id of this process: configured, else `VTRACK_INSTANCE_ID`, else the first
/// free slot of this machine for the application.
pub fn claim(k: &KafkaConfig) -> InstanceId {
    let given = Some(k.instance_id.clone())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::env::var("VTRACK_INSTANCE_ID")
                .ok()
                .filter(|s| !s.is_empty())
        });
    if let Some(id) = given {
        return InstanceId {
            id,
            _slot: None,
            stale: Vec::new(),
        };
    }
    let host = host_name();
    match claim_slot(&k.application_id, &host) {
        Ok(mut claimed) => {
            claimed.stale = stale_slots(&k.application_id, &host);
            claimed
        }
        Err(e) => {
            warn!(error = %e, id = %host, "cannot claim an instance slot on this machine; using the host name as the instance id (set kafka.instance_id when running several instances on one machine)");
            InstanceId {
                id: host,
                _slot: None,
                stale: Vec::new(),
            }
        }
    }
}

/// This machine's name: `HOSTNAME`, else the kernel's host name, else `vtrack`.
fn host_name() -> String {
    let named = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    std::env::var("HOSTNAME")
        .ok()
        .and_then(named)
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .and_then(named)
        })
        .unwrap_or_else(|| "vtrack".to_string())
}

/// The id of slot `slot` of `host`.
fn slot_id(host: &str, slot: usize) -> String {
    if slot == 0 {
        host.to_string()
    } else {
        format!("{host}-{slot}")
    }
}

/// The slots of `host` that were claimed once (their lock file exists) and whose process is
/// gone (this process can lock them), each locked until dropped.
pub fn stale_slots(application_id: &str, host: &str) -> Vec<InstanceId> {
    let dir = slot_dir(application_id);
    let mut stale = Vec::new();
    for slot in 0..MAX_SLOTS {
        let id = slot_id(host, slot);
        let Ok(file) = File::options().write(true).open(lock_path(&dir, &id)) else {
            break; // slots are claimed in order: none beyond the first never claimed
        };
        if file.try_lock().is_ok() {
            stale.push(InstanceId {
                id,
                _slot: Some(file),
                stale: Vec::new(),
            });
        }
    }
    stale
}

/// The first slot of `host` whose lock file this process could lock.
fn claim_slot(application_id: &str, host: &str) -> std::io::Result<InstanceId> {
    let dir = slot_dir(application_id);
    std::fs::create_dir_all(&dir)?;
    for slot in 0..MAX_SLOTS {
        let id = slot_id(host, slot);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(&dir, &id))?;
        match file.try_lock() {
            Ok(()) => {
                return Ok(InstanceId {
                    id,
                    _slot: Some(file),
                    stale: Vec::new(),
                })
            }
            Err(std::fs::TryLockError::WouldBlock) => continue,
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "all {MAX_SLOTS} slots are taken"
    )))
}

/// The lock file of the slot named `id`.
fn lock_path(dir: &std::path::Path, id: &str) -> PathBuf {
    dir.join(format!("{}.lock", file_safe(id)))
}

/// Where the slot locks of an application live.
fn slot_dir(application_id: &str) -> PathBuf {
    std::env::temp_dir()
        .join("vtrack-instances")
        .join(file_safe(application_id))
}

/// A name made safe for a file name: anything but letters, digits, `-`, `_` and `.` becomes `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_claims_on_one_machine_get_two_slots_and_a_freed_slot_is_reused() {
        let app = format!("instance-test-{}", std::process::id());
        let first = claim_slot(&app, "host").expect("slot");
        let second = claim_slot(&app, "host").expect("slot");
        assert_eq!(first.id, "host");
        assert_eq!(second.id, "host-1");
        drop(first);
        assert_eq!(claim_slot(&app, "host").expect("slot").id, "host");
        let _ = std::fs::remove_dir_all(slot_dir(&app));
    }

    #[test]
    fn slots_whose_process_is_gone_are_stale_and_live_ones_are_not() {
        let app = format!("instance-stale-test-{}", std::process::id());
        let first = claim_slot(&app, "host").expect("slot");
        let second = claim_slot(&app, "host").expect("slot");
        let third = claim_slot(&app, "host").expect("slot");
        assert!(stale_slots(&app, "host").is_empty(), "all three are live");
        drop(second);
        let stale: Vec<String> = stale_slots(&app, "host")
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(stale, ["host-1"]);
        drop((first, third));
        let _ = std::fs::remove_dir_all(slot_dir(&app));
    }

    #[test]
    fn names_become_file_safe() {
        assert_eq!(file_safe("a/b c:d-e_f.g"), "a_b_c_d-e_f.g");
    }
}
