//! libssh2 errors in words. ssh2's `Display` prints `[Session(-18)] Authentication failed
//! (keyboard-interactive)`: a Rust `Debug` value and a raw libssh2 code that a test engineer
//! cannot act on. Every error text of the crate that carries an `ssh2::Error` goes through
//! [`words`] instead.

use ssh2::ErrorCode;

/// What the error means ("the device closed the connection"), followed by libssh2's own
/// message where it says more than that (which key file, which step of the handshake).
pub(crate) fn words(e: &ssh2::Error) -> String {
    let phrase = phrase(e.code());
    let message = e.message().trim();
    // ssh2 fills in a fixed text of its own when libssh2 gave none; it only repeats the code.
    let fixed = ssh2::Error::from_errno(e.code());
    let says_more = !message.is_empty()
        && !message.eq_ignore_ascii_case(fixed.message())
        && !message.eq_ignore_ascii_case(phrase)
        && !message.starts_with("<failed to fetch");
    if says_more {
        format!("{phrase} (libssh2: {message})")
    } else {
        phrase.to_owned()
    }
}

/// The meaning of a libssh2 session error code or of an SFTP status code.
fn phrase(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Session(n) => match n {
            -1 => "no socket to talk to the device on",
            -2 => "the device sent no SSH banner",
            -3 => "the SSH banner could not be sent",
            -4 => "a message from the device failed its integrity check",
            -5 | -8 => "the key exchange with the device failed",
            -6 => "out of memory",
            -7 => "the connection failed while sending",
            -9 => "the device did not answer in time",
            -10 => "the device's host key could not be read",
            -11 => "the device's host key signature does not verify",
            -12 => "a message from the device could not be decrypted",
            -13 => "the device closed the connection",
            -14 => "the device broke the SSH protocol",
            -15 => "the password has expired",
            -16 => "the key file could not be read",
            -17 => "no authentication method in common with the device",
            -18 => "the device refused the credentials",
            -19 => "the device did not accept the public key",
            -20 => "channel messages arrived out of order",
            -21 => "the device refused to open a channel",
            -22 | -32 => "the device refused the request",
            -23 => "the device named an unknown channel",
            -24 | -25 | -47 => "the device sent more than the channel window allows",
            -26 => "the channel is closed",
            -27 => "the channel's input was already closed",
            -28 => "the SCP transfer failed",
            -29 | -40 => "compression failed",
            -30 => "the connection timed out",
            -31 => "the device's SFTP server refused the request",
            -33 => "the device does not support this method",
            -34 => "an argument was refused",
            -35 => "an internal poll type was refused",
            -36 => "the device's public key subsystem failed",
            -37 => "the call would block",
            -38 => "a buffer was too small",
            -39 => "libssh2 was used in a way it does not allow",
            -41 => "a value was out of bounds",
            -42 => "the SSH agent could not be used",
            -43 => "the connection failed while receiving",
            -44 => "a message could not be encrypted",
            -45 => "the socket is not usable",
            -46 => "the known_hosts file could not be read or written",
            -48 => "the key file was refused (a wrong passphrase?)",
            -49 => "no random bytes were available",
            -50 => "the device sent no authentication banner",
            -51 => "an algorithm the device asked for is not supported",
            _ => "libssh2 failed",
        },
        ErrorCode::SFTP(n) => match n {
            1 => "end of file",
            2 => "no such file",
            3 => "permission denied",
            4 => "the device's SFTP server reported a failure",
            5 => "the device's SFTP server got a bad message",
            6 => "no SFTP connection",
            7 => "the SFTP connection was lost",
            8 => "the device's SFTP server does not support this operation",
            9 => "the SFTP file handle is not valid",
            10 => "no such path",
            11 => "the file already exists",
            12 => "the file is write-protected",
            13 => "no media in the drive",
            14 => "no space left on the device's file system",
            15 => "the quota is exceeded",
            16 => "unknown principal",
            17 => "the file is locked",
            18 => "the directory is not empty",
            19 => "not a directory",
            20 => "the file name is not valid",
            21 => "too many levels of symbolic links",
            _ => "the device's SFTP server reported an unknown error",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_become_words_without_the_code() {
        let refused = ssh2::Error::new(ErrorCode::Session(-18), "Authentication failed (keyboard-interactive)");
        let text = words(&refused);
        assert_eq!(text, "the device refused the credentials (libssh2: Authentication failed (keyboard-interactive))");
        assert_eq!(words(&ssh2::Error::from_errno(ErrorCode::SFTP(2))), "no such file");
        assert_eq!(words(&ssh2::Error::from_errno(ErrorCode::Session(-13))), "the device closed the connection");
        for n in -60..=0 {
            let text = words(&ssh2::Error::from_errno(ErrorCode::Session(n)));
            assert!(!text.contains("Session(") && !text.contains(&n.to_string()), "{text}");
        }
    }
}
