//! `graceful::listener(name, addr)`: a listening socket, inherited if one was passed to
//! the process under that name, bound afresh otherwise; registered by name either way.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, ToSocketAddrs};

use crate::report::log;

use super::inherited;
use super::registry::{self, Kind, Origin, Reservation};

/// A TCP listener named `name`, on `addr`: the socket handed over by that name, or
/// bound afresh.
///
/// Where it comes from, first match wins:
///
/// 1. after an [upgrade in place](crate::upgrade), the socket the previous process
///    handed over under `name`, if it listens on `addr` (otherwise the new code moved the
///    listener: see below);
/// 2. the socket named `name` passed by systemd's socket activation (`LISTEN_FDS`,
///    `LISTEN_PID`, `LISTEN_FDNAMES`; `FileDescriptorName=` in the socket unit). A socket
///    without a name (systemd's default, the unit's name) goes to the first listener
///    whose name no socket has, in the order they were passed;
/// 3. a fresh bind of `addr`.
///
/// The socket is non-blocking and close-on-exec (it does not leak into the programs the
/// service starts). An inherited socket must be a TCP listener on `addr` (port 0 takes
/// any port, and `0.0.0.0` and `[::]` are taken as the same "every address", since
/// systemd's `ListenStream=3000` listens on `[::]:3000`). It is logged with its origin,
/// and [`listeners`](crate::listeners) lists it. A socket handed over by the previous
/// process on another address than `addr` is left to it: `addr` is bound afresh (said on
/// stderr), and the old address goes with the previous process.
///
/// Under `#[graceful::main]` the passed sockets are taken before the body runs;
/// elsewhere at the first call. The variables that announce them are read once and left
/// in the environment (removing them races with other threads that read it); a program
/// this one starts does not take the sockets, which are close-on-exec and announced for
/// this process only. Use no other socket-activation crate beside this.
///
/// # Errors
///
/// Besides those of binding (`AddrInUse`, `PermissionDenied`): a name asked for twice
/// (`AlreadyExists`); an inherited socket of another kind or address, one that is not
/// listening, or `LISTEN_*` variables that cannot be read (`InvalidInput`). The message
/// names the listener. `LISTEN_PID` of another process is no error: those sockets are
/// not this process's, and the listener is bound afresh (with a line on stderr).
///
/// ```no_run
/// # async fn doc() -> std::io::Result<()> {
/// let listener = graceful::listener("http", "0.0.0.0:3000").await?;
/// # Ok(()) }
/// ```
pub async fn listener(name: &str, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let reservation = registry::reserve(name).map_err(|e| named(name, e))?;
    let wanted: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| named(name, e))?
        .collect();
    let inherited = inherited::take(name, Kind::Tcp).map_err(|e| named(name, e))?;
    let (origin, listener) = match inherited {
        // The new code of an upgrade asks for another address: its own, bound afresh.
        Some((Origin::Upgrade, socket)) if !tcp_listens_on(&socket, &wanted) => {
            moved(name, &socket, &list(&wanted));
            (Origin::Bound, bind_tcp(name, &wanted).await?)
        }
        Some((origin, socket)) => (origin, tcp_from(name, origin, socket, &wanted)?),
        None => (Origin::Bound, bind_tcp(name, &wanted).await?),
    };
    register(
        name,
        reservation,
        Kind::Tcp,
        origin,
        socket2::SockRef::from(&listener),
    )?;
    Ok(listener)
}

async fn bind_tcp(name: &str, wanted: &[SocketAddr]) -> io::Result<TcpListener> {
    TcpListener::bind(wanted).await.map_err(|e| {
        named(
            name,
            with_context(e, &format!("cannot listen on {}", list(wanted))),
        )
    })
}

/// Whether `socket` listens on an address of `wanted`.
fn tcp_listens_on(socket: &socket2::Socket, wanted: &[SocketAddr]) -> bool {
    let actual = socket.local_addr().ok().and_then(|a| a.as_socket());
    actual.is_some_and(|actual| wanted.iter().any(|w| same_address(*w, actual)))
}

/// Says that the socket the previous process handed over is not taken, as the new code
/// listens elsewhere: a deploy that moves a listener, whose old address goes with the
/// previous process.
fn moved(name: &str, socket: &socket2::Socket, now: &str) {
    log::listener_note(&format!(
        "listener {name:?}: the previous process listened at {}, this one listens at {now} \
         as asked, bound afresh; the old address closes as the previous process exits",
        registry::address_of(socket)
    ));
}

/// An inherited socket as the TCP listener asked for on `wanted`, or why it cannot be.
fn tcp_from(
    name: &str,
    origin: Origin,
    socket: socket2::Socket,
    wanted: &[SocketAddr],
) -> io::Result<TcpListener> {
    let address = registry::address_of(&socket);
    check_listening(name, origin, &socket, Kind::Tcp, &address)?;
    let Some(actual) = socket.local_addr().ok().and_then(|a| a.as_socket()) else {
        return Err(mismatch(
            name,
            origin,
            &format!("a socket at {address}"),
            Kind::Tcp,
        ));
    };
    if !wanted.iter().any(|w| same_address(*w, actual)) {
        return Err(invalid(
            name,
            format!(
                "the socket {origin} listens on {actual}, not on {}: make the two agree",
                list(wanted)
            ),
        ));
    }
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

/// Whether a socket listening on `actual` is one asked for on `wanted`.
fn same_address(wanted: SocketAddr, actual: SocketAddr) -> bool {
    let port = wanted.port() == 0 || wanted.port() == actual.port();
    let ip = wanted.ip() == actual.ip()
        || (wanted.ip().is_unspecified() && actual.ip().is_unspecified());
    port && ip
}

/// An inherited socket must be a listening stream socket of the kind asked for.
fn check_listening(
    name: &str,
    origin: Origin,
    socket: &socket2::Socket,
    kind: Kind,
    address: &str,
) -> io::Result<()> {
    match inherited::kind_of(socket) {
        Some(k) if k == kind => {}
        Some(other) => {
            return Err(mismatch(
                name,
                origin,
                &format!("a {other} socket at {address}"),
                kind,
            ))
        }
        None => return Err(mismatch(name, origin, "a socket of another family", kind)),
    }
    if socket.r#type()? != socket2::Type::STREAM {
        return Err(mismatch(
            name,
            origin,
            &format!("a datagram socket at {address}"),
            kind,
        ));
    }
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    if !socket.is_listener()? {
        return Err(invalid(
            name,
            format!(
                "the socket {origin} at {address} is not listening (a socket unit with `Accept=yes` passes connections, not listeners)"
            ),
        ));
    }
    Ok(())
}

/// Records the listener and says where it came from.
fn register(
    name: &str,
    reservation: Reservation,
    kind: Kind,
    origin: Origin,
    socket: socket2::SockRef<'_>,
) -> io::Result<()> {
    let address = registry::address_of(&socket);
    reservation
        .take(kind, origin, socket)
        .map_err(|e| named(name, with_context(e, "cannot keep a copy of the socket")))?;
    log::listening(
        name,
        &kind.to_string(),
        &address,
        &origin.to_string(),
        origin != Origin::Bound,
    );
    Ok(())
}

fn mismatch(name: &str, origin: Origin, found: &str, wanted: Kind) -> io::Error {
    invalid(
        name,
        format!("the socket {origin} is {found}, where a {wanted} listener is asked for"),
    )
}

fn invalid(name: &str, message: String) -> io::Error {
    named(name, io::Error::new(io::ErrorKind::InvalidInput, message))
}

/// The error, saying which listener it is about, in one level: a message of graceful's
/// own gets the name in front; an error that has a cause (the system's) gets the name in
/// front of its context and keeps the cause as its source.
fn named(name: &str, e: io::Error) -> io::Error {
    let about = format!("graceful::listener({name:?})");
    let kind = e.kind();
    if e.raw_os_error().is_some() || e.get_ref().is_none() {
        return with_context(e, &about);
    }
    match e.into_inner().map(|inner| inner.downcast::<Context>()) {
        Some(Ok(context)) => io::Error::new(
            kind,
            Context {
                context: format!("{about}: {}", context.context),
                source: context.source,
            },
        ),
        Some(Err(message)) => io::Error::new(kind, format!("{about}: {message}")),
        None => io::Error::new(kind, about),
    }
}

/// `e` said with what it is about, of its kind, and kept as the error's
/// [`source`](std::error::Error::source): the system's error number stays readable
/// (`raw_os_error`) down the chain.
fn with_context(e: io::Error, context: &str) -> io::Error {
    io::Error::new(
        e.kind(),
        Context {
            context: context.to_owned(),
            source: e,
        },
    )
}

/// What an error is about, with the error as its [`source`](std::error::Error::source).
///
/// Its `Display` is the context alone: a reporter that walks the chain (graceful's own
/// for the error of `main`, anyhow's `{:#}`) shows each cause once,
/// `graceful::listener("http"): cannot listen on 127.0.0.1:3000: Address already in use`,
/// where a message that also held its cause would repeat it at every level.
struct Context {
    context: String,
    source: io::Error,
}

/// The whole chain, quoted: what a plain `fn main() -> io::Result<()>` prints, as for an
/// error made from a string.
impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = crate::trigger::body::with_causes(self.context.clone(), Some(&self.source));
        std::fmt::Debug::fmt(&text, f)
    }
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.context)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn list(addrs: &[SocketAddr]) -> String {
    match addrs {
        [] => "no address".to_owned(),
        [one] => one.to_string(),
        many => many
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

#[cfg(unix)]
pub use self::unix::unix_listener;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::path::Path;

    use tokio::net::UnixListener;

    use super::{check_listening, invalid, moved, named, register, with_context};
    use crate::report::log;
    use crate::serve::inherited;
    use crate::serve::registry::{self, Kind, Origin};

    /// A Unix-socket listener named `name`, at `path`: the socket systemd passed by that
    /// name (`ListenStream=/run/app.sock`), or bound afresh; as [`listener`](crate::listener)
    /// does for TCP, with the same errors.
    ///
    /// A fresh bind over a socket file that nobody listens on any more (left by a process
    /// that was killed) replaces it; one that a running process listens on is
    /// `AddrInUse`.
    ///
    /// ```no_run
    /// # async fn doc() -> std::io::Result<()> {
    /// let admin = graceful::unix_listener("admin", "/run/my-service/admin.sock")?;
    /// # Ok(()) }
    /// ```
    pub fn unix_listener(name: &str, path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let reservation = registry::reserve(name).map_err(|e| named(name, e))?;
        let inherited = inherited::take(name, Kind::Unix).map_err(|e| named(name, e))?;
        let listens_at = |socket: &socket2::Socket| {
            let at = socket.local_addr().ok();
            at.as_ref().and_then(|a| a.as_pathname()) == Some(path)
        };
        let inherited = match inherited {
            // The new code of an upgrade asks for another path: its own, bound afresh.
            Some((Origin::Upgrade, socket)) if !listens_at(&socket) => {
                moved(name, &socket, &path.display().to_string());
                None
            }
            other => other,
        };
        let (origin, listener) = match inherited {
            Some((origin, socket)) => {
                let address = registry::address_of(&socket);
                check_listening(name, origin, &socket, Kind::Unix, &address)?;
                let at = socket.local_addr().ok();
                let at = at.as_ref().and_then(|a| a.as_pathname());
                if at.is_some_and(|at| at != path) {
                    return Err(invalid(
                        name,
                        format!(
                            "the socket {origin} listens at {address}, not at {}: make the two agree",
                            path.display()
                        ),
                    ));
                }
                socket.set_nonblocking(true)?;
                let std: std::os::unix::net::UnixListener = socket.into();
                (origin, UnixListener::from_std(std)?)
            }
            None => (
                Origin::Bound,
                bind_replacing_stale(path).map_err(|e| {
                    named(
                        name,
                        with_context(e, &format!("cannot listen at {}", path.display())),
                    )
                })?,
            ),
        };
        register(
            name,
            reservation,
            Kind::Unix,
            origin,
            socket2::SockRef::from(&listener),
        )?;
        Ok(listener)
    }

    /// Binds `path`; over a socket file whose listener is gone (a connection to it is
    /// refused), after removing it.
    fn bind_replacing_stale(path: &Path) -> io::Result<UnixListener> {
        match UnixListener::bind(path) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && is_stale(path) => {
                std::fs::remove_file(path)?;
                log::listener_note(&format!(
                    "removed the socket file {} that nobody listened on any more",
                    path.display()
                ));
                UnixListener::bind(path)
            }
            other => other,
        }
    }

    fn is_stale(path: &Path) -> bool {
        use std::os::unix::fs::FileTypeExt;
        let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
        is_socket
            && matches!(
                std::os::unix::net::UnixStream::connect(path),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_match_on_port_zero_and_on_every_address_of_either_family() {
        assert!(same_address(addr("127.0.0.1:3000"), addr("127.0.0.1:3000")));
        assert!(same_address(addr("127.0.0.1:0"), addr("127.0.0.1:41234")));
        assert!(same_address(addr("0.0.0.0:3000"), addr("[::]:3000")));
        assert!(!same_address(
            addr("127.0.0.1:3000"),
            addr("127.0.0.1:3001")
        ));
        assert!(!same_address(addr("127.0.0.1:3000"), addr("0.0.0.0:3000")));
        assert!(!same_address(addr("10.0.0.1:3000"), addr("127.0.0.1:3000")));
    }

    #[tokio::test]
    async fn a_fresh_listener_is_registered_and_its_name_is_not_given_twice() {
        let l = listener("listener-test-tcp", "127.0.0.1:0").await.unwrap();
        let at = l.local_addr().unwrap();
        let listed = crate::serve::registry::listeners();
        let info = listed
            .iter()
            .find(|i| i.name() == "listener-test-tcp")
            .unwrap();
        assert_eq!(info.address(), at.to_string());
        assert_eq!(info.origin(), Origin::Bound);

        let err = listener("listener-test-tcp", "127.0.0.1:0")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(
            err.to_string()
                .starts_with("graceful::listener(\"listener-test-tcp\"): the name"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_dropped_listener_is_forgotten_and_closed_for_good() {
        let first = listener("listener-test-again", "127.0.0.1:0")
            .await
            .unwrap();
        let at = first.local_addr().unwrap();
        drop(first);
        let listed = crate::serve::registry::listeners();
        assert!(
            listed.iter().all(|i| i.name() != "listener-test-again"),
            "a dropped listener is not listed: {listed:?}"
        );
        // Nothing queues connections on its socket any more.
        let refused = std::net::TcpStream::connect(at).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        // The name may be asked for again, as two tests of one process do, and the
        // address bound again.
        let second = listener("listener-test-again", at).await.unwrap();
        assert_eq!(second.local_addr().unwrap(), at);
        let listed = crate::serve::registry::listeners();
        let info = listed
            .iter()
            .find(|i| i.name() == "listener-test-again")
            .unwrap();
        assert_eq!(info.address(), at.to_string());
    }

    #[tokio::test]
    async fn an_address_in_use_names_the_listener_and_frees_the_name() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = taken.local_addr().unwrap();
        let err = listener("listener-test-in-use", at).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        // Each level says its own part once: the listener, the address, the system's word.
        let mut chain = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(e) = cause {
            chain = format!("{chain}: {e}");
            cause = e.source();
        }
        let expected =
            format!("graceful::listener(\"listener-test-in-use\"): cannot listen on {at}: ");
        assert!(chain.starts_with(&expected), "{chain}");
        assert_eq!(chain.matches("cannot listen").count(), 1, "{chain}");
        assert_eq!(chain.matches("(os error").count(), 1, "{chain}");
        // The system's error is kept, as the source, not only as text.
        let mut source = std::error::Error::source(&err);
        let mut system = None;
        while let Some(e) = source {
            system = system.or_else(|| {
                e.downcast_ref::<io::Error>()
                    .filter(|e| e.raw_os_error().is_some())
                    .map(io::Error::kind)
            });
            source = e.source();
        }
        assert_eq!(system, Some(io::ErrorKind::AddrInUse), "{err:?}");
        drop(taken);
        listener("listener-test-in-use", at)
            .await
            .expect("the name was released");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_unix_listener_replaces_a_stale_socket_file_but_not_a_live_one() {
        let dir = std::env::temp_dir().join(format!("graceful-unix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stale.sock");
        let _ = std::fs::remove_file(&path);
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // leaves the file
        let l = unix_listener("listener-test-unix", &path).unwrap();
        assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
        let err = unix_listener("listener-test-unix-2", &path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        drop(l);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
