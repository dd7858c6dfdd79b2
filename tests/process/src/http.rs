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
    /// The header lines, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as it came, not decoded.
    pub body: String,
}

impl Response {
    /// The value of the header `name` (lower case), if it came.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A connection kept alive across requests, as browsers and proxies keep them.
pub struct KeptAlive {
    reader: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl KeptAlive {
    /// Opens a connection. `Err` if it is refused.
    pub fn open(addr: SocketAddr) -> io::Result<KeptAlive> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(PATIENCE))?;
        // A request goes out in several writes: without this, Nagle holds the later ones
        // for the server's delayed ack, and a request takes 40 ms.
        stream.set_nodelay(true)?;
        Ok(KeptAlive {
            reader: BufReader::new(stream),
            addr,
        })
    }

    /// `GET path` on this connection, and its response (whose body has a length).
    pub fn get(&mut self, path: &str) -> io::Result<Response> {
        write!(
            self.reader.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.addr
        )?;
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the connection closed in the response head: {head:?}"),
                ));
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut response = parse(&head)?;
        let length: usize = response
            .header("content-length")
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no content-length"))?;
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        response.body = String::from_utf8_lossy(&body).into_owned();
        Ok(response)
    }

    /// Waits for the server to close the connection: `Ok` if it closed it cleanly (a
    /// FIN), the error if it reset it or sent more.
    pub fn closed_by_server(mut self) -> io::Result<()> {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest)?;
        if rest.is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "more after the last response: {:?}",
                    String::from_utf8_lossy(&rest)
                ),
            ))
        }
    }
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
    // As for a kept-alive connection: each write goes out at once.
    stream.set_nodelay(true)?;
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
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_owned(),
    })
}
