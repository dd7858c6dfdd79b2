//! A minimal HTTP/1.1 client over a plain TCP socket: enough to read a status code, to
//! follow a stream line by line, and to see a refused connection as exactly that.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::PATIENCE;

/// A response read to its end.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body as it came, not decoded.
    pub body: String,
}

/// Sends `GET path` on a new connection and returns it, unread. `Err` if the connection
/// is refused.
pub fn send_get(addr: SocketAddr, path: &str) -> io::Result<TcpStream> {
    let mut stream = send_head_start(addr, path)?;
    write!(stream, "Connection: close\r\n\r\n")?;
    Ok(stream)
}

/// Sends only the start of a `GET path` request on a new connection, as a client that
/// stalls halfway through its request does. The connection stays open while the stream
/// lives.
pub fn send_head_start(addr: SocketAddr, path: &str) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(PATIENCE))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n")?;
    Ok(stream)
}

/// Reads a response to the end of the connection.
pub fn read_response(stream: TcpStream) -> io::Result<Response> {
    let mut text = String::new();
    BufReader::new(stream).read_to_string(&mut text)?;
    parse(&text)
}

/// `GET path` and the whole response.
pub fn get(addr: SocketAddr, path: &str) -> io::Result<Response> {
    read_response(send_get(addr, path)?)
}

/// Reads the status line and headers of a streamed response, leaving the body to read.
pub fn stream_get(addr: SocketAddr, path: &str) -> io::Result<(u16, BufReader<TcpStream>)> {
    let mut reader = BufReader::new(send_get(addr, path)?);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    Ok((parse(&head)?.status, reader))
}

fn parse(text: &str) -> io::Result<Response> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an HTTP response: {text:?}"),
        )
    };
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(bad)?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok(Response { status, body })
}
