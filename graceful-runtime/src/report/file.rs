//! Writing the report to the file `GRACEFUL_REPORT` names: atomically where the file
//! system allows it, in place where it does not.
//!
//! A reader never sees half a report: it is written beside the file, then renamed over
//! it. That cannot work for Kubernetes' `/dev/termination-log`, a file the kubelet
//! bind-mounts into the container (a rename over a mount point fails, and `/dev` may not
//! be writable), nor for a pipe or a device: those are written in place.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{log, Report};
use crate::sync::bounded::{self, Late};

/// How long the exit waits for the report to reach its file: a write that blocks (a pipe
/// nobody reads, a hung network mount) must not hold the exit.
const PATIENCE: Duration = Duration::from_secs(1);

/// The time the exit keeps for itself before the watchdog's moment, so that waiting for
/// the report never lets the watchdog turn the exit code into 124.
const EXIT_MARGIN: Duration = Duration::from_millis(100);

/// `GRACEFUL_REPORT`: writes the report as JSON to `path`. A failure is logged and
/// changes nothing else.
///
/// The write runs on a thread of its own and is given [`PATIENCE`], and never past
/// `watchdog_at`: a write still blocked then is left behind, to die with the process, and
/// the exit goes on with the code the shutdown decided.
pub(crate) fn save(path: &Path, report: &Report, watchdog_at: Option<Instant>) {
    let contents = format!("{}\n", report.to_json());
    let patience = watchdog_at.map_or(PATIENCE, |at| {
        at.saturating_duration_since(Instant::now())
            .saturating_sub(EXIT_MARGIN)
            .min(PATIENCE)
    });
    let target = path.to_path_buf();
    let written = bounded::run("graceful-report", patience, move || {
        write(&target, contents.as_bytes())
    });
    let result = written.unwrap_or_else(|Late| {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the write did not end within {patience:?}; the exit does not wait for it"),
        ))
    });
    if let Err(e) = result {
        log::report_not_written(path, &e);
    }
}

/// How the report reached its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// Written beside the file, then renamed over it.
    Replaced,
    /// Written into the file itself.
    InPlace,
}

/// Writes `contents` to `path`. A symbolic link is written through, as a plain write
/// would; the error names what was tried.
pub(crate) fn write(path: &Path, contents: &[u8]) -> io::Result<Written> {
    let target = resolve(path);
    if fs::metadata(&target).is_ok_and(|meta| !meta.is_file()) {
        in_place(&target, contents)?;
        return Ok(Written::InPlace);
    }
    write_via(&target, &beside(&target), contents)
}

/// The file a write to `path` reaches: through every symbolic link, even one that names
/// a file not created yet (a rename over the link itself would replace it).
fn resolve(path: &Path) -> PathBuf {
    if fs::metadata(path).is_ok() {
        // It exists. A link the kernel follows but no path names (`/dev/stderr` to a
        // pipe) does not canonicalize: it is written as given.
        return fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    }
    let mut target = path.to_path_buf();
    // As many links as Linux follows before it gives up with ELOOP.
    for _ in 0..40 {
        let Ok(to) = fs::read_link(&target) else {
            break;
        };
        // A relative link counts from its own directory; `join` keeps an absolute one.
        target = match target.parent() {
            Some(dir) => dir.join(to),
            None => to,
        };
    }
    target
}

/// What can be told at startup of a path that will not take the report: a directory
/// that is missing or is not one, or a path that is itself a directory. `None` when the
/// path looks writable (only the write itself can tell for sure).
pub(crate) fn check(path: &Path) -> Option<String> {
    let path = &resolve(path);
    if path.is_dir() {
        return Some("it is a directory".to_owned());
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => None,
        Ok(_) => Some(format!("{} is not a directory", dir.display())),
        Err(e) => Some(format!("its directory {}: {e}", dir.display())),
    }
}

/// Writes `target` through `temp`, or in place when that fails.
fn write_via(target: &Path, temp: &Path, contents: &[u8]) -> io::Result<Written> {
    let Err(replace_error) = replace(target, temp, contents) else {
        return Ok(Written::Replaced);
    };
    match in_place(target, contents) {
        Ok(()) => Ok(Written::InPlace),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("{e} (writing beside it first failed too: {replace_error})"),
        )),
    }
}

/// `.name.<pid>.tmp` in the directory of `target`: on its file system, so the rename is
/// atomic, and hidden from a glob over the directory.
fn beside(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy());
    target.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn replace(target: &Path, temp: &Path, contents: &[u8]) -> io::Result<()> {
    let create = || OpenOptions::new().write(true).create_new(true).open(temp);
    let mut file = match create() {
        // Left by an earlier process with this pid (in a container, PID 1 at every start)
        // killed while writing: nothing reads it.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(temp)?;
            create()?
        }
        other => other?,
    };
    let done = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(temp, target));
    if done.is_err() {
        let _ = fs::remove_file(temp);
    }
    done
}

fn in_place(target: &Path, contents: &[u8]) -> io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(target)?
        .write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("graceful-report-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_regular_file_is_replaced_whole_and_nothing_is_left_beside_it() {
        let dir = scratch("replace");
        let path = dir.join("report.json");
        fs::write(&path, "an older, much longer report").unwrap();
        assert_eq!(write(&path, b"{}\n").unwrap(), Written::Replaced);
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
        assert_eq!(entries(&dir), ["report.json"]);
        // And a file that does not exist yet.
        let new = dir.join("new.json");
        assert_eq!(write(&new, b"[]").unwrap(), Written::Replaced);
        assert_eq!(fs::read_to_string(&new).unwrap(), "[]");
        fs::remove_dir_all(dir).unwrap();
    }

    /// What happens on `/dev/termination-log`: the rename fails (there, over a mount
    /// point; here, across file systems), so the file is written in place.
    #[cfg(target_os = "linux")]
    #[test]
    fn where_the_rename_cannot_work_the_file_is_written_in_place() {
        let dir = scratch("in-place");
        let path = dir.join("termination-log");
        fs::write(&path, "an older, much longer report").unwrap();
        // /dev/shm is a file system of its own: a rename from it fails with EXDEV.
        let shm = Path::new("/dev/shm");
        let probe = shm.join(format!("graceful-probe-{}", std::process::id()));
        fs::write(&probe, "").unwrap();
        let crossed = fs::rename(&probe, dir.join("probe"));
        let _ = fs::remove_file(&probe);
        assert!(
            crossed.is_err(),
            "the test needs /dev/shm on another file system"
        );
        let temp = shm.join(format!("graceful-test-{}.tmp", std::process::id()));
        assert_eq!(write_via(&path, &temp, b"{}").unwrap(), Written::InPlace);
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
        assert!(!temp.exists(), "the file written beside is removed");
        assert_eq!(entries(&dir), ["termination-log"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_written_in_place() {
        let dir = scratch("fifo");
        let path = dir.join("report.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let path = path.clone();
            std::thread::spawn(move || fs::read_to_string(path).unwrap())
        };
        assert_eq!(write(&path, b"{\"version\":1}").unwrap(), Written::InPlace);
        assert_eq!(reader.join().unwrap(), "{\"version\":1}");
        assert_eq!(entries(&dir), ["report.fifo"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_written_through_and_kept() {
        let dir = scratch("symlink");
        let real = dir.join("real.json");
        let link = dir.join("link.json");
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(write(&link, b"new").unwrap(), Written::Replaced);
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        fs::remove_dir_all(dir).unwrap();
    }

    /// A link made before the file it names exists (a report kept on a volume): the
    /// first report creates that file, and the link stays.
    #[cfg(unix)]
    #[test]
    fn a_dangling_symbolic_link_is_written_through_and_kept() {
        let dir = scratch("dangling");
        fs::create_dir(dir.join("volume")).unwrap();
        let link = dir.join("report.json");
        std::os::unix::fs::symlink("volume/last.json", &link).unwrap();
        assert_eq!(write(&link, b"{}").unwrap(), Written::Replaced);
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::read_to_string(dir.join("volume").join("last.json")).unwrap(),
            "{}"
        );
        assert_eq!(entries(&dir.join("volume")), ["last.json"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_into_a_missing_directory_is_told_at_startup() {
        let dir = scratch("dangling-check");
        let link = dir.join("report.json");
        std::os::unix::fs::symlink("volume/last.json", &link).unwrap();
        let problem = check(&link).unwrap();
        assert!(
            problem.starts_with(&format!("its directory {}: ", dir.join("volume").display())),
            "{problem}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    /// In a container the service is often PID 1 at every start: a file left beside the
    /// report by a process killed while writing has the name this one would use.
    #[test]
    fn a_file_left_beside_by_a_killed_writer_does_not_stop_the_replace() {
        let dir = scratch("stale");
        let path = dir.join("report.json");
        fs::write(&path, "old").unwrap();
        fs::write(beside(&path), "{\"version\":1,\"trig").unwrap();
        assert_eq!(write(&path, b"{}").unwrap(), Written::Replaced);
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
        assert_eq!(entries(&dir), ["report.json"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_path_that_will_not_take_the_report_is_told_at_startup() {
        let dir = scratch("check");
        assert_eq!(check(&dir.join("report.json")), None);
        assert_eq!(check(Path::new("report.json")), None);
        assert_eq!(check(&dir), Some("it is a directory".to_owned()));
        let missing = dir.join("missing");
        let problem = check(&missing.join("report.json")).unwrap();
        assert!(
            problem.starts_with(&format!("its directory {}: ", missing.display())),
            "{problem}"
        );
        let file = dir.join("file");
        fs::write(&file, "").unwrap();
        assert_eq!(
            check(&file.join("report.json")),
            Some(format!("{} is not a directory", file.display()))
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_path_that_cannot_be_written_is_an_error_that_says_what_was_tried() {
        let dir = scratch("missing");
        let path = dir.join("no-such-directory").join("report.json");
        let error = write(&path, b"{}").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(
            error
                .to_string()
                .contains("writing beside it first failed too"),
            "{error}"
        );
        // A directory is not a file to write to.
        assert!(write(&dir, b"{}").is_err());
        assert_eq!(entries(&dir), Vec::<String>::new());
        fs::remove_dir_all(dir).unwrap();
    }
}
