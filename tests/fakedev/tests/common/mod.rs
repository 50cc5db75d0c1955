//! A plain libssh2 client for the fake devices, shared by the test files.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

use fakedev::DeviceInfo;

pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

pub fn connect(d: &DeviceInfo, password: &str) -> Result<ssh2::Session, ssh2::Error> {
    let tcp = TcpStream::connect(d.addr()).unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut s = ssh2::Session::new().unwrap();
    s.set_tcp_stream(tcp);
    s.set_timeout(10_000);
    s.handshake()?;
    s.userauth_password(&d.username, password)?;
    Ok(s)
}

pub struct Cli {
    pub channel: ssh2::Channel,
    pub session: ssh2::Session,
}

impl Cli {
    pub fn open(d: &DeviceInfo) -> Cli {
        Cli::open_until(d, ">")
    }

    /// Logs in, starts a shell and reads until the first prompt, which ends with `end`.
    pub fn open_until(d: &DeviceInfo, end: &str) -> Cli {
        let session = connect(d, &d.password).unwrap();
        let mut channel = session.channel_session().unwrap();
        channel.request_pty("vt100", None, Some((200, 24, 0, 0))).unwrap();
        channel.shell().unwrap();
        let mut cli = Cli { channel, session };
        cli.read_until(end);
        cli
    }

    pub fn read_until(&mut self, end: &str) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        while !out.ends_with(end.as_bytes()) {
            let n = self.channel.read(&mut buf).expect("read (10 s timeout)");
            assert!(n > 0, "EOF before {end:?}; got {:?}", String::from_utf8_lossy(&out));
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(out).unwrap()
    }

    pub fn send(&mut self, line: &str, until: &str) -> String {
        self.channel.write_all(line.as_bytes()).unwrap();
        self.channel.write_all(b"\n").unwrap();
        // No flush(): in ssh2, Channel::flush is libssh2_channel_flush, which DISCARDS data
        // already received on the channel (here: the echo of the command).
        self.read_until(until)
    }
}
