//! Which binary an upgrade starts: the one at the path this process was started from,
//! with its arguments.
//!
//! The path is resolved when the program starts, while the current directory and `PATH`
//! are as the program was started with, and made absolute: a relative `./service`
//! resolved later, after a `chdir`, would start something else, or nothing. It is the
//! path as the program was started, not `/proc/self/exe`: that names the file this
//! process runs, which a deploy that puts a new binary in place has replaced (it reads
//! `/usr/bin/app (deleted)`), and a deploy that switches a symbolic link
//! (`current -> releases/v2`) is followed only through the path.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

/// What an upgrade starts.
#[derive(Clone, Debug)]
pub(crate) struct Executable {
    /// Absolute, symbolic links kept.
    pub(crate) path: PathBuf,
    /// The program's name as it was started, for the new process's `argv[0]`.
    pub(crate) argv0: OsString,
    pub(crate) args: Vec<OsString>,
}

/// This process's binary and arguments, as it was started.
pub(crate) fn this_program() -> io::Result<Executable> {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let path = resolve(
        &argv0,
        &std::env::current_dir()?,
        std::env::var_os("PATH").as_deref(),
        std::env::current_exe,
    )?;
    Ok(Executable {
        path,
        argv0,
        args: args.collect(),
    })
}

/// Where `argv0` points, from `cwd`: a path with a `/` as it is (made absolute), a bare
/// name as a shell finds it in `path_var`; failing both, `current_exe` (less the
/// ` (deleted)` Linux adds to a replaced file).
fn resolve(
    argv0: &OsStr,
    cwd: &Path,
    path_var: Option<&OsStr>,
    current_exe: impl FnOnce() -> io::Result<PathBuf>,
) -> io::Result<PathBuf> {
    let written = Path::new(argv0);
    if !argv0.is_empty() && argv0.as_encoded_bytes().contains(&b'/') {
        // `components` drops the `.` of `./service`, for the log; `..` stays, as a
        // symbolic link before it may need.
        return Ok(cwd.join(written).components().collect());
    }
    if !argv0.is_empty() {
        if let Some(found) = path_var
            .into_iter()
            .flat_map(std::env::split_paths)
            .map(|dir| cwd.join(dir).join(written))
            .find(|candidate| is_executable(candidate))
        {
            return Ok(found);
        }
    }
    let exe = current_exe()?;
    let text = exe.as_os_str().to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(original) => PathBuf::from(original),
        None => exe,
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never() -> io::Result<PathBuf> {
        panic!("current_exe was not needed")
    }

    #[test]
    fn a_path_is_made_absolute_from_where_the_program_started() {
        let cwd = Path::new("/srv/app");
        let got = resolve(OsStr::new("./bin/service"), cwd, None, never).unwrap();
        assert_eq!(got.as_os_str(), "/srv/app/bin/service");
        let got = resolve(OsStr::new("../current/service"), cwd, None, never).unwrap();
        assert_eq!(got.as_os_str(), "/srv/app/../current/service");
        let got = resolve(OsStr::new("/usr/local/bin/service"), cwd, None, never).unwrap();
        assert_eq!(got, Path::new("/usr/local/bin/service"));
    }

    #[test]
    fn a_bare_name_is_found_in_path_as_a_shell_finds_it() {
        let dir = std::env::temp_dir().join(format!("graceful-exe-{}", std::process::id()));
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join("service");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let not_exe = dir.join("service");
        std::fs::write(&not_exe, "").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([dir.as_path(), bin.as_path()]).unwrap();
        let got = resolve(OsStr::new("service"), Path::new("/"), Some(&path), never).unwrap();
        assert_eq!(got, exe, "the first match that can run");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn failing_both_the_running_file_without_its_deleted_mark() {
        let got = resolve(
            OsStr::new("ghost"),
            Path::new("/"),
            Some(OsStr::new("")),
            || Ok(PathBuf::from("/usr/bin/app (deleted)")),
        )
        .unwrap();
        assert_eq!(got, Path::new("/usr/bin/app"));
    }
}
