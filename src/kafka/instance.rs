//! The instance id of `vtrack run`. It names the transactional producer and the static group
//! member, so a restarted instance fences its own zombie at once; so two live processes must
//! never hold the same one.
//!
//! An id that is configured (`kafka.instance_id`) or given in `VTRACK_INSTANCE_ID` is used as
//! it is. Otherwise the instance claims the first free slot of this machine: `<host>` (from
//! `HOSTNAME`, else `vtrack`), then `<host>-1`, `<host>-2`, … A slot is an exclusive lock on a
//! file under the temporary directory, held for the life of the process and released by the
//! system when it ends (also on kill -9). So instances started from one configuration on one
//! machine share the work, and a restarted one takes its slot back (the lowest free one).

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
        return InstanceId { id, _slot: None };
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "vtrack".to_string());
    match claim_slot(&k.application_id, &host) {
        Ok(claimed) => claimed,
        Err(e) => {
            warn!(error = %e, id = %host, "cannot claim an instance slot on this machine; using the host name as the instance id (set kafka.instance_id when running several instances on one machine)");
            InstanceId {
                id: host,
                _slot: None,
            }
        }
    }
}

/// The first slot of `host` whose lock file this process could lock.
fn claim_slot(application_id: &str, host: &str) -> std::io::Result<InstanceId> {
    let dir = slot_dir(application_id);
    std::fs::create_dir_all(&dir)?;
    for slot in 0..MAX_SLOTS {
        let id = if slot == 0 {
            host.to_string()
        } else {
            format!("{host}-{slot}")
        };
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{}.lock", file_safe(&id))))?;
        match file.try_lock() {
            Ok(()) => {
                return Ok(InstanceId {
                    id,
                    _slot: Some(file),
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
    fn names_become_file_safe() {
        assert_eq!(file_safe("a/b c:d-e_f.g"), "a_b_c_d-e_f.g");
    }
}
