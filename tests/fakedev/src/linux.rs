//! What a fake Linux board offers beyond its interactive shell: an in-memory filesystem, `exec`
//! channels that run a tiny POSIX-shell subset against it, and an SFTP subsystem on the same
//! files, so that a file put over SFTP is what `exec cat` prints.
//!
//! The command language is just enough for device tests: stdout, stderr and exit status must
//! each be distinguishable, and files must round-trip. It is not a shell; anything it does not
//! know answers like `sh` does for a missing program (status 127).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use russh_sftp::protocol::{Attrs, Data, File, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode, Version};
use russh_sftp::server::StatusReply;
use tokio::io::AsyncWriteExt;

use crate::profile::Profile;

/// Whether a device of this profile is a Linux target (exec channels and SFTP). Other platforms
/// refuse both, as an IOS box without `ip scp server enable` would.
pub fn serves(profile: &Profile) -> bool {
    profile.name.starts_with("linux") || profile.name.starts_with("busybox")
}

// ---------------------------------------------------------------------------------------------
// Filesystem

/// A device's files, shared by every session of the device (clones share the same tree). Paths
/// may be absolute or relative to the home directory; `~` is the home directory.
#[derive(Clone)]
pub struct Fs {
    tree: Arc<Mutex<BTreeMap<String, Node>>>,
    user: Arc<str>,
    home: Arc<str>,
}

impl fmt::Debug for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fs").field("home", &self.home).finish_non_exhaustive()
    }
}

struct Node {
    kind: Kind,
    mtime: u32,
}

enum Kind {
    Dir,
    File(Vec<u8>),
}

/// What `stat` says about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub is_dir: bool,
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub mtime: u32,
}

/// Why a filesystem operation failed; `Display` is the `strerror` text a Linux tool prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsError {
    NotFound,
    IsDir,
    NotDir,
    Exists,
    NotEmpty,
    TooLarge,
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsError::NotFound => "No such file or directory",
            FsError::IsDir => "Is a directory",
            FsError::NotDir => "Not a directory",
            FsError::Exists => "File exists",
            FsError::NotEmpty => "Directory not empty",
            FsError::TooLarge => "File too large",
        })
    }
}

impl std::error::Error for FsError {}

/// The largest file, so that a client's stray offset cannot make the test process allocate
/// terabytes.
const MAX_FILE: u64 = 1 << 30;

fn now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as u32)
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn meta(node: &Node) -> Meta {
    match &node.kind {
        Kind::Dir => Meta { is_dir: true, size: 4096, mtime: node.mtime },
        Kind::File(data) => Meta { is_dir: false, size: data.len() as u64, mtime: node.mtime },
    }
}

impl Fs {
    /// A filesystem with `/`, `/tmp`, `/etc/hostname` and the user's home directory
    /// (`/root` for root, `/home/USER` otherwise).
    pub fn new(user: &str, hostname: &str) -> Fs {
        let home = if user == "root" { "/root".to_string() } else { format!("/home/{user}") };
        let fs = Fs { tree: Arc::default(), user: user.into(), home: home.as_str().into() };
        for dir in ["/", "/etc", "/tmp", "/home", &home] {
            let _ = fs.mkdir(dir);
        }
        fs.write("/etc/hostname", format!("{hostname}\n")).expect("/etc exists");
        fs
    }

    /// The filesystem of a device of this profile.
    pub fn for_profile(profile: &Profile) -> Fs {
        Fs::new(&profile.username, &profile.hostname)
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn home(&self) -> &str {
        &self.home
    }

    /// The absolute, normalised form of `path` seen from directory `cwd`.
    pub fn resolve(&self, cwd: &str, path: &str) -> String {
        let joined = if path == "~" || path.starts_with("~/") {
            format!("{}{}", self.home, &path[1..])
        } else if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{cwd}/{path}")
        };
        let mut parts: Vec<&str> = Vec::new();
        for part in joined.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        format!("/{}", parts.join("/"))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Node>> {
        // A panic while holding the lock leaves the map consistent: every change is one insert,
        // remove or in-place edit of a Vec.
        self.tree.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn abs(&self, path: &str) -> String {
        self.resolve(&self.home, path)
    }

    pub fn stat(&self, path: &str) -> Result<Meta, FsError> {
        self.lock().get(&self.abs(path)).map(meta).ok_or(FsError::NotFound)
    }

    pub fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        self.read_at(path, 0, usize::MAX)
    }

    /// Up to `len` bytes from `offset`; empty at or past the end.
    pub fn read_at(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, FsError> {
        let tree = self.lock();
        match &tree.get(&self.abs(path)).ok_or(FsError::NotFound)?.kind {
            Kind::Dir => Err(FsError::IsDir),
            Kind::File(data) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
                let end = start.saturating_add(len).min(data.len());
                Ok(data[start..end].to_vec())
            }
        }
    }

    /// Creates or replaces a file.
    pub fn write(&self, path: &str, data: impl Into<Vec<u8>>) -> Result<(), FsError> {
        self.create(path, true, false)?;
        self.write_at(path, 0, &data.into())
    }

    /// Adds to the end of a file, creating it when missing.
    pub fn append(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
        self.create(path, false, false)?;
        let end = self.stat(path)?.size;
        self.write_at(path, end, data)
    }

    /// Makes sure a file exists (its parent must), emptying it when `truncate`; with
    /// `exclusive`, fails if anything exists there already.
    pub fn create(&self, path: &str, truncate: bool, exclusive: bool) -> Result<(), FsError> {
        let path = self.abs(path);
        let mut tree = self.lock();
        match tree.get_mut(&path) {
            Some(_) if exclusive => Err(FsError::Exists),
            Some(Node { kind: Kind::Dir, .. }) => Err(FsError::IsDir),
            Some(node) => {
                if truncate {
                    node.kind = Kind::File(Vec::new());
                    node.mtime = now();
                }
                Ok(())
            }
            None => {
                match tree.get(parent(&path)) {
                    Some(Node { kind: Kind::Dir, .. }) => {}
                    Some(_) => return Err(FsError::NotDir),
                    None => return Err(FsError::NotFound),
                }
                tree.insert(path, Node { kind: Kind::File(Vec::new()), mtime: now() });
                Ok(())
            }
        }
    }

    /// Writes into an existing file at `offset`, filling any gap with zeros.
    pub fn write_at(&self, path: &str, offset: u64, data: &[u8]) -> Result<(), FsError> {
        let mut tree = self.lock();
        let node = tree.get_mut(&self.abs(path)).ok_or(FsError::NotFound)?;
        let Kind::File(file) = &mut node.kind else { return Err(FsError::IsDir) };
        let end = offset.saturating_add(data.len() as u64);
        if end > MAX_FILE {
            return Err(FsError::TooLarge);
        }
        let (start, end) = (offset as usize, end as usize);
        if file.len() < end {
            file.resize(end, 0);
        }
        file[start..end].copy_from_slice(data);
        node.mtime = now();
        Ok(())
    }

    pub fn set_len(&self, path: &str, len: u64) -> Result<(), FsError> {
        let mut tree = self.lock();
        let node = tree.get_mut(&self.abs(path)).ok_or(FsError::NotFound)?;
        let Kind::File(file) = &mut node.kind else { return Err(FsError::IsDir) };
        if len > MAX_FILE {
            return Err(FsError::TooLarge);
        }
        file.resize(len as usize, 0);
        node.mtime = now();
        Ok(())
    }

    /// The entries of a directory, sorted by name, without `.` and `..`.
    pub fn list(&self, path: &str) -> Result<Vec<(String, Meta)>, FsError> {
        let dir = self.abs(path);
        let tree = self.lock();
        match tree.get(&dir) {
            None => return Err(FsError::NotFound),
            Some(Node { kind: Kind::File(_), .. }) => return Err(FsError::NotDir),
            Some(_) => {}
        }
        let prefix = if dir == "/" { dir } else { format!("{dir}/") };
        Ok(tree
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, node)| (&p[prefix.len()..], node))
            .filter(|(name, _)| !name.is_empty() && !name.contains('/'))
            .map(|(name, node)| (name.to_string(), meta(node)))
            .collect())
    }

    pub fn mkdir(&self, path: &str) -> Result<(), FsError> {
        let path = self.abs(path);
        let mut tree = self.lock();
        if tree.contains_key(&path) {
            return Err(FsError::Exists);
        }
        if path != "/" {
            match tree.get(parent(&path)) {
                Some(Node { kind: Kind::Dir, .. }) => {}
                Some(_) => return Err(FsError::NotDir),
                None => return Err(FsError::NotFound),
            }
        }
        tree.insert(path, Node { kind: Kind::Dir, mtime: now() });
        Ok(())
    }

    /// Removes a file (not a directory: see [`Fs::rmdir`]).
    pub fn remove(&self, path: &str) -> Result<(), FsError> {
        let path = self.abs(path);
        let mut tree = self.lock();
        match tree.get(&path) {
            None => Err(FsError::NotFound),
            Some(Node { kind: Kind::Dir, .. }) => Err(FsError::IsDir),
            Some(_) => {
                tree.remove(&path);
                Ok(())
            }
        }
    }

    /// Removes an empty directory.
    pub fn rmdir(&self, path: &str) -> Result<(), FsError> {
        let path = self.abs(path);
        let mut tree = self.lock();
        match tree.get(&path) {
            None => Err(FsError::NotFound),
            Some(Node { kind: Kind::File(_), .. }) => Err(FsError::NotDir),
            Some(_) => {
                let prefix = format!("{path}/");
                if path == "/" || tree.range(prefix.clone()..).next().is_some_and(|(p, _)| p.starts_with(&prefix)) {
                    return Err(FsError::NotEmpty);
                }
                tree.remove(&path);
                Ok(())
            }
        }
    }

    /// Renames a file, replacing a file at `to`. Directories are not moved (not needed yet).
    pub fn rename(&self, from: &str, to: &str) -> Result<(), FsError> {
        let (from, to) = (self.abs(from), self.abs(to));
        let mut tree = self.lock();
        match tree.get(&from) {
            None => return Err(FsError::NotFound),
            Some(Node { kind: Kind::Dir, .. }) => return Err(FsError::IsDir),
            Some(_) => {}
        }
        match tree.get(parent(&to)) {
            Some(Node { kind: Kind::Dir, .. }) => {}
            Some(_) => return Err(FsError::NotDir),
            None => return Err(FsError::NotFound),
        }
        if let Some(Node { kind: Kind::Dir, .. }) = tree.get(&to) {
            return Err(FsError::IsDir);
        }
        let node = tree.remove(&from).expect("checked above");
        tree.insert(to, node);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// exec

/// What an exec channel sends back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecResult {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: u32,
}

/// Runs one exec request: simple commands joined by `;`, `&&` and `||`, with quotes,
/// backslashes, `#` comments and the redirections `>FILE`, `>>FILE`, `>&2` (`1>&2`) and `2>&1`.
/// Commands: echo [-n], printf FORMAT [ARG...] (`%s`, `%%`, `\n`, `\t`, `\\`), cat, ls, cd,
/// pwd, mkdir, rm, uname [-a|-s|-n|-r|-m], hostname, whoami, true, false, exit [N].
/// There are no pipes, variables or globs.
pub fn exec(fs: &Fs, command: &str) -> ExecResult {
    let mut sh = Sh { fs, cwd: fs.home().to_string(), result: ExecResult::default() };
    let commands = match parse(command) {
        Ok(commands) => commands,
        Err(message) => {
            sh.result.stderr = format!("sh: 1: {message}\n").into_bytes();
            sh.result.status = 2;
            return sh.result;
        }
    };
    for (join, cmd) in commands {
        let run = match join {
            Join::Seq => true,
            Join::And => sh.result.status == 0,
            Join::Or => sh.result.status != 0,
        };
        if run && sh.run(cmd).is_break() {
            break;
        }
    }
    sh.result
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    Seq,
    And,
    Or,
}

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Join(Join),
    /// `fd>` (`append`: `fd>>`); `dup`: `fd>&N`, otherwise the next word is a file.
    Redir {
        fd: usize,
        append: bool,
        dup: Option<usize>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Stdout,
    Stderr,
    File(String),
}

#[derive(Debug, Default)]
struct Cmd {
    words: Vec<String>,
    /// In order: (fd, where it now goes). Files are created/emptied when the command starts.
    redirs: Vec<(usize, Redirect)>,
}

#[derive(Debug)]
enum Redirect {
    Dup(usize),
    File { path: String, append: bool },
}

fn tokenize(line: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut word = String::new();
    let (mut in_word, mut quoted) = (false, false);
    let mut chars = line.chars().peekable();
    let unterminated = || "Syntax error: Unterminated quoted string".to_string();
    macro_rules! flush {
        () => {
            if in_word {
                toks.push(Tok::Word(std::mem::take(&mut word)));
                (in_word, quoted) = (false, false);
            }
        };
    }
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                (in_word, quoted) = (true, true);
                loop {
                    match chars.next().ok_or_else(unterminated)? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                (in_word, quoted) = (true, true);
                loop {
                    match chars.next().ok_or_else(unterminated)? {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            word.push(chars.next().expect("peeked"))
                        }
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                (in_word, quoted) = (true, true);
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => word.push(c),
                }
            }
            '#' if !in_word => break,
            ' ' | '\t' | '\n' => flush!(),
            ';' => {
                flush!();
                toks.push(Tok::Join(Join::Seq));
            }
            '&' | '|' if chars.peek() == Some(&c) => {
                chars.next();
                flush!();
                toks.push(Tok::Join(if c == '&' { Join::And } else { Join::Or }));
            }
            '&' | '|' => return Err(format!("{c}: pipes and background jobs are not supported by fakedev")),
            '>' => {
                let fd = if in_word && !quoted && (word == "1" || word == "2") {
                    let fd = if word == "1" { 1 } else { 2 };
                    word.clear();
                    (in_word, quoted) = (false, false);
                    fd
                } else {
                    flush!();
                    1
                };
                let append = chars.next_if_eq(&'>').is_some();
                let dup = if chars.next_if_eq(&'&').is_some() {
                    match chars.next() {
                        Some('1') => Some(1),
                        Some('2') => Some(2),
                        _ => return Err("Syntax error: Bad fd number".into()),
                    }
                } else {
                    None
                };
                toks.push(Tok::Redir { fd, append, dup });
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        toks.push(Tok::Word(word));
    }
    Ok(toks)
}

fn parse(line: &str) -> Result<Vec<(Join, Cmd)>, String> {
    let mut commands = Vec::new();
    let (mut join, mut cmd) = (Join::Seq, Cmd::default());
    let mut toks = tokenize(line)?.into_iter();
    while let Some(tok) = toks.next() {
        match tok {
            Tok::Word(w) => cmd.words.push(w),
            Tok::Redir { fd, dup: Some(to), .. } => cmd.redirs.push((fd, Redirect::Dup(to))),
            Tok::Redir { fd, append, dup: None } => match toks.next() {
                Some(Tok::Word(path)) => cmd.redirs.push((fd, Redirect::File { path, append })),
                _ => return Err("Syntax error: redirection unexpected".into()),
            },
            Tok::Join(next) => {
                if cmd.words.is_empty() && cmd.redirs.is_empty() {
                    let op = match next {
                        Join::Seq => ";",
                        Join::And => "&&",
                        Join::Or => "||",
                    };
                    return Err(format!("Syntax error: \"{op}\" unexpected"));
                }
                commands.push((join, std::mem::take(&mut cmd)));
                join = next;
            }
        }
    }
    if !cmd.words.is_empty() || !cmd.redirs.is_empty() {
        commands.push((join, cmd));
    } else if join != Join::Seq {
        return Err("Syntax error: end of file unexpected".into());
    }
    Ok(commands)
}

struct Sh<'a> {
    fs: &'a Fs,
    cwd: String,
    result: ExecResult,
}

/// Output of one command before redirection.
#[derive(Default)]
struct Out {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: u32,
}

impl Out {
    fn error(status: u32, message: impl fmt::Display) -> Out {
        let mut out = Out::default();
        out.err(status, message);
        out
    }

    fn err(&mut self, status: u32, message: impl fmt::Display) {
        self.stderr.extend_from_slice(format!("{message}\n").as_bytes());
        self.status = status;
    }
}

impl Sh<'_> {
    /// Runs one simple command; `Break` after `exit`.
    fn run(&mut self, cmd: Cmd) -> std::ops::ControlFlow<()> {
        let mut targets = [Target::Stdout, Target::Stderr];
        for (fd, redirect) in cmd.redirs {
            targets[fd - 1] = match redirect {
                Redirect::Dup(to) => targets[to - 1].clone(),
                Redirect::File { path, append } => {
                    let abs = self.fs.resolve(&self.cwd, &path);
                    if let Err(e) = self.fs.create(&abs, !append, false) {
                        let why =
                            if e == FsError::NotFound { "Directory nonexistent".to_string() } else { e.to_string() };
                        self.result
                            .stderr
                            .extend_from_slice(format!("sh: 1: cannot create {path}: {why}\n").as_bytes());
                        self.result.status = 2;
                        return std::ops::ControlFlow::Continue(());
                    }
                    Target::File(abs)
                }
            };
        }
        let mut exit = false;
        let out = match cmd.words.split_first() {
            None => Out::default(),
            Some((name, args)) => self.builtin(name, args, &mut exit),
        };
        for (bytes, target) in [(out.stdout, &targets[0]), (out.stderr, &targets[1])] {
            match target {
                Target::Stdout => self.result.stdout.extend_from_slice(&bytes),
                Target::Stderr => self.result.stderr.extend_from_slice(&bytes),
                Target::File(path) => {
                    let _ = self.fs.append(path, &bytes);
                }
            }
        }
        self.result.status = out.status;
        if exit {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    }

    fn builtin(&mut self, name: &str, args: &[String], exit: &mut bool) -> Out {
        let mut out = Out::default();
        let fs = self.fs;
        let hostname =
            || fs.read("/etc/hostname").map(|h| String::from_utf8_lossy(&h).trim().to_string()).unwrap_or_default();
        match name {
            "true" | ":" => {}
            "false" => out.status = 1,
            "exit" => {
                *exit = true;
                out.status = match args.first() {
                    None => self.result.status,
                    Some(n) => match n.parse::<u32>() {
                        Ok(n) => n & 0xff,
                        Err(_) => return Out::error(2, format!("sh: 1: exit: Illegal number: {n}")),
                    },
                };
            }
            "echo" => {
                let (newline, words) = match args.first().map(String::as_str) {
                    Some("-n") => (false, &args[1..]),
                    _ => (true, args),
                };
                out.stdout = words.join(" ").into_bytes();
                if newline {
                    out.stdout.push(b'\n');
                }
            }
            "printf" => match args.split_first() {
                None => return Out::error(2, "printf: usage: printf format [arg ...]"),
                Some((format, args)) => out.stdout = printf(format, args),
            },
            "cat" => {
                for path in args {
                    match fs.read(&fs.resolve(&self.cwd, path)) {
                        Ok(data) => out.stdout.extend_from_slice(&data),
                        Err(e) => out.err(1, format!("cat: {path}: {e}")),
                    }
                }
            }
            "ls" => {
                let (options, mut paths): (Vec<&String>, Vec<&String>) =
                    args.iter().partition(|a| a.len() > 1 && a.starts_with('-'));
                let mut long = false;
                for c in options.iter().flat_map(|o| o.chars().skip(1)) {
                    match c {
                        'l' => long = true,
                        '1' => {}
                        c => return Out::error(2, format!("ls: invalid option -- '{c}'")),
                    }
                }
                let dot = ".".to_string();
                if paths.is_empty() {
                    paths.push(&dot);
                }
                let user = fs.user();
                let line = |name: &str, meta: Meta| match long {
                    false => format!("{name}\n"),
                    true => {
                        let mode = if meta.is_dir { "drwxr-xr-x" } else { "-rw-r--r--" };
                        format!("{mode} 1 {user} {user} {:>8} {} {name}\n", meta.size, ls_time(meta.mtime))
                    }
                };
                for path in paths {
                    let abs = fs.resolve(&self.cwd, path);
                    match fs.stat(&abs) {
                        Err(e) => out.err(2, format!("ls: cannot access '{path}': {e}")),
                        Ok(meta) if !meta.is_dir => out.stdout.extend_from_slice(line(path, meta).as_bytes()),
                        Ok(_) => {
                            let entries = fs.list(&abs).unwrap_or_default();
                            if long {
                                let blocks: u64 = entries.iter().map(|(_, m)| m.size.div_ceil(1024)).sum();
                                out.stdout.extend_from_slice(format!("total {blocks}\n").as_bytes());
                            }
                            for (name, meta) in entries {
                                out.stdout.extend_from_slice(line(&name, meta).as_bytes());
                            }
                        }
                    }
                }
            }
            "cd" => {
                let target = fs.resolve(&self.cwd, args.first().map_or("~", String::as_str));
                match fs.stat(&target) {
                    Ok(meta) if meta.is_dir => self.cwd = target,
                    _ => return Out::error(2, format!("sh: 1: cd: can't cd to {}", args[0])),
                }
            }
            "pwd" => out.stdout = format!("{}\n", self.cwd).into_bytes(),
            "mkdir" => {
                let (parents, paths) = match args.first().map(String::as_str) {
                    Some("-p") => (true, &args[1..]),
                    _ => (false, args),
                };
                for path in paths {
                    let abs = fs.resolve(&self.cwd, path);
                    let result = if parents {
                        let mut so_far = String::new();
                        abs.split('/').filter(|p| !p.is_empty()).try_for_each(|part| {
                            so_far = format!("{so_far}/{part}");
                            match fs.mkdir(&so_far) {
                                Err(FsError::Exists) if fs.stat(&so_far).is_ok_and(|m| m.is_dir) => Ok(()),
                                other => other,
                            }
                        })
                    } else {
                        fs.mkdir(&abs)
                    };
                    if let Err(e) = result {
                        out.err(1, format!("mkdir: cannot create directory '{path}': {e}"));
                    }
                }
            }
            "rm" => {
                let (force, paths) = match args.first().map(String::as_str) {
                    Some("-f") => (true, &args[1..]),
                    _ => (false, args),
                };
                for path in paths {
                    match fs.remove(&fs.resolve(&self.cwd, path)) {
                        Err(FsError::NotFound) if force => {}
                        Err(e) => out.err(1, format!("rm: cannot remove '{path}': {e}")),
                        Ok(()) => {}
                    }
                }
            }
            "uname" => {
                let line = match args.first().map(String::as_str) {
                    None | Some("-s") => "Linux".to_string(),
                    Some("-n") => hostname(),
                    Some("-r") => "5.15.0-fakedev".to_string(),
                    Some("-m") => "x86_64".to_string(),
                    Some("-a") => format!("Linux {} 5.15.0-fakedev #1 SMP PREEMPT x86_64 GNU/Linux", hostname()),
                    Some(other) => {
                        return Out::error(1, format!("uname: invalid option -- '{}'", other.trim_start_matches('-')))
                    }
                };
                out.stdout = format!("{line}\n").into_bytes();
            }
            "hostname" => out.stdout = format!("{}\n", hostname()).into_bytes(),
            "whoami" => out.stdout = format!("{}\n", fs.user()).into_bytes(),
            other => out.err(127, format!("sh: 1: {other}: not found")),
        }
        out
    }
}

/// "Nov 21 06:22", as `ls -l` prints a recent time (UTC).
fn ls_time(secs: u32) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (days, time) = (i64::from(secs) / 86_400, i64::from(secs) % 86_400);
    // Howard Hinnant's days-to-civil, for month and day only.
    let doe = (days + 719_468).rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 2 } else { mp - 10 };
    format!("{} {day:>2} {:02}:{:02}", MONTHS[month as usize], time / 3600, time % 3600 / 60)
}

/// `printf FORMAT ARGS`: `%s` takes the next argument (empty when none are left), `%%` is `%`;
/// `\n`, `\t`, `\\` are escapes. The format is not reused for extra arguments.
fn printf(format: &str, args: &[String]) -> Vec<u8> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\' || c == '%') {
            ('\\', true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') | None => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
            },
            ('%', true) => match chars.next() {
                Some('s') => out.push_str(args.next().map_or("", String::as_str)),
                Some('%') | None => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
            },
            (c, _) => out.push(c),
        }
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// SFTP

/// Serves the `sftp` subsystem on `channel` from `fs` until the client closes the channel or the
/// connection, then sends exit status 0 and closes the channel, as OpenSSH's sftp-server does
/// when it exits (OpenSSH's `scp` fails without that status). Spawn it from
/// `subsystem_request` after `session.channel_success(channel)`.
pub async fn serve_sftp(channel: Channel<Msg>, fs: Fs) {
    let (mut reader, writer) = channel.split();
    // russh-sftp wants one AsyncRead + AsyncWrite; the channel halves are bridged to it through
    // an in-memory pipe so that this task sees when the SFTP session ends.
    let (pipe, sftp_side) = tokio::io::duplex(256 * 1024);
    russh_sftp::server::run(sftp_side, Sftp { fs, handles: HashMap::new(), next_handle: 0 }).await;
    let (mut from_sftp, mut to_sftp) = tokio::io::split(pipe);
    let inbound = async move {
        while let Some(msg) = reader.wait().await {
            let more = match msg {
                ChannelMsg::Data { data } => to_sftp.write_all(&data).await.is_ok(),
                ChannelMsg::Eof | ChannelMsg::Close => false,
                _ => true,
            };
            if !more {
                break;
            }
        }
        let _ = to_sftp.shutdown().await;
    };
    let outbound = async {
        let _ = tokio::io::copy(&mut from_sftp, &mut writer.make_writer()).await;
        let _ = writer.exit_status(0).await;
        let _ = writer.eof().await;
        let _ = writer.close().await;
    };
    tokio::join!(inbound, outbound);
}

/// One SFTP session: its open handles, by the opaque string the client echoes back.
struct Sftp {
    fs: Fs,
    handles: HashMap<String, Open>,
    next_handle: u64,
}

enum Open {
    File {
        path: String,
        append: bool,
    },
    /// Entries not yet sent; `None` once the listing has been sent.
    Dir(Option<Vec<File>>),
}

/// The most one READ answers, whatever the client asks for; clients ask again for the rest.
const MAX_READ: u32 = 64 * 1024;

fn fs_error(e: FsError, path: &str) -> StatusReply {
    let code = if e == FsError::NotFound { StatusCode::NoSuchFile } else { StatusCode::Failure };
    code.with_message(format!("{path}: {e}"))
}

fn ok(id: u32) -> Status {
    Status { id, status_code: StatusCode::Ok, error_message: "Ok".into(), language_tag: "en-US".into() }
}

fn attrs(meta: Meta) -> FileAttributes {
    let mode = if meta.is_dir { 0o040_755 } else { 0o100_644 };
    FileAttributes {
        size: Some(meta.size),
        uid: Some(1000),
        gid: Some(1000),
        permissions: Some(mode),
        atime: Some(meta.mtime),
        mtime: Some(meta.mtime),
        ..Default::default()
    }
}

impl Sftp {
    fn new_handle(&mut self, open: Open) -> String {
        self.next_handle += 1;
        let handle = self.next_handle.to_string();
        self.handles.insert(handle.clone(), open);
        handle
    }

    fn file(&self, handle: &str) -> Result<(&str, bool), StatusReply> {
        match self.handles.get(handle) {
            Some(Open::File { path, append }) => Ok((path, *append)),
            _ => Err(StatusCode::Failure.with_message(format!("no open file with handle {handle:?}"))),
        }
    }

    fn attrs_of(&self, path: &str) -> Result<FileAttributes, StatusReply> {
        self.fs.stat(path).map(attrs).map_err(|e| fs_error(e, path))
    }
}

impl russh_sftp::server::Handler for Sftp {
    type Error = StatusReply;

    fn unimplemented(&self) -> StatusReply {
        StatusCode::OpUnsupported.into()
    }

    async fn init(&mut self, _version: u32, _extensions: HashMap<String, String>) -> Result<Version, StatusReply> {
        Ok(Version::new())
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, StatusReply> {
        let path = self.fs.resolve(self.fs.home(), &path);
        Ok(Name { id, files: vec![File::dummy(path)] })
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        _attrs: FileAttributes,
    ) -> Result<Handle, StatusReply> {
        let path = self.fs.resolve(self.fs.home(), &filename);
        if pflags.contains(OpenFlags::CREATE) {
            let (truncate, exclusive) = (pflags.contains(OpenFlags::TRUNCATE), pflags.contains(OpenFlags::EXCLUDE));
            self.fs.create(&path, truncate, exclusive).map_err(|e| fs_error(e, &filename))?;
        } else if self.attrs_of(&path)?.is_dir() {
            return Err(fs_error(FsError::IsDir, &filename));
        } else if pflags.contains(OpenFlags::TRUNCATE) {
            self.fs.set_len(&path, 0).map_err(|e| fs_error(e, &filename))?;
        }
        let append = pflags.contains(OpenFlags::APPEND);
        Ok(Handle { id, handle: self.new_handle(Open::File { path, append }) })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, StatusReply> {
        match self.handles.remove(&handle) {
            Some(_) => Ok(ok(id)),
            None => Err(StatusCode::Failure.with_message(format!("no open handle {handle:?}"))),
        }
    }

    async fn read(&mut self, id: u32, handle: String, offset: u64, len: u32) -> Result<Data, StatusReply> {
        let (path, _) = self.file(&handle)?;
        let data = self.fs.read_at(path, offset, len.min(MAX_READ) as usize).map_err(|e| fs_error(e, path))?;
        if data.is_empty() && len > 0 {
            return Err(StatusCode::Eof.into());
        }
        Ok(Data { id, data })
    }

    async fn write(&mut self, id: u32, handle: String, offset: u64, data: Vec<u8>) -> Result<Status, StatusReply> {
        let (path, append) = self.file(&handle)?;
        let result = if append { self.fs.append(path, &data) } else { self.fs.write_at(path, offset, &data) };
        result.map_err(|e| fs_error(e, path))?;
        Ok(ok(id))
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, StatusReply> {
        Ok(Attrs { id, attrs: self.attrs_of(&path)? })
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, StatusReply> {
        Ok(Attrs { id, attrs: self.attrs_of(&path)? })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, StatusReply> {
        let (path, _) = self.file(&handle)?;
        Ok(Attrs { id, attrs: self.attrs_of(path)? })
    }

    async fn setstat(&mut self, id: u32, path: String, attrs: FileAttributes) -> Result<Status, StatusReply> {
        if let Some(size) = attrs.size {
            self.fs.set_len(&path, size).map_err(|e| fs_error(e, &path))?;
        }
        Ok(ok(id))
    }

    async fn fsetstat(&mut self, id: u32, handle: String, attrs: FileAttributes) -> Result<Status, StatusReply> {
        let (path, _) = self.file(&handle)?;
        let path = path.to_string();
        self.setstat(id, path, attrs).await
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, StatusReply> {
        let entries = self.fs.list(&path).map_err(|e| fs_error(e, &path))?;
        let dot = |name: &str, p: &str| {
            self.fs.stat(&self.fs.resolve(self.fs.home(), p)).ok().map(|m| File::new(name, attrs(m)))
        };
        let parent = format!("{path}/..");
        let mut files: Vec<File> = [dot(".", &path), dot("..", &parent)].into_iter().flatten().collect();
        files.extend(entries.into_iter().map(|(name, meta)| File::new(name, attrs(meta))));
        Ok(Handle { id, handle: self.new_handle(Open::Dir(Some(files))) })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, StatusReply> {
        match self.handles.get_mut(&handle) {
            Some(Open::Dir(entries)) => match entries.take() {
                Some(files) => Ok(Name { id, files }),
                None => Err(StatusCode::Eof.into()),
            },
            _ => Err(StatusCode::Failure.with_message(format!("no open directory with handle {handle:?}"))),
        }
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, StatusReply> {
        self.fs.remove(&filename).map_err(|e| fs_error(e, &filename))?;
        Ok(ok(id))
    }

    async fn mkdir(&mut self, id: u32, path: String, _attrs: FileAttributes) -> Result<Status, StatusReply> {
        self.fs.mkdir(&path).map_err(|e| fs_error(e, &path))?;
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, StatusReply> {
        self.fs.rmdir(&path).map_err(|e| fs_error(e, &path))?;
        Ok(ok(id))
    }

    async fn rename(&mut self, id: u32, oldpath: String, newpath: String) -> Result<Status, StatusReply> {
        self.fs.rename(&oldpath, &newpath).map_err(|e| fs_error(e, &oldpath))?;
        Ok(ok(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fs: &Fs, command: &str) -> (String, String, u32) {
        let r = exec(fs, command);
        (String::from_utf8(r.stdout).unwrap(), String::from_utf8(r.stderr).unwrap(), r.status)
    }

    #[test]
    fn echo_printf_and_redirections() {
        let fs = Fs::new("admin", "board1");
        assert_eq!(run(&fs, "echo hello   world"), ("hello world\n".into(), "".into(), 0));
        assert_eq!(run(&fs, "echo 'a  b' \"c\\\"d\" e\\ f"), ("a  b c\"d e f\n".into(), "".into(), 0));
        assert_eq!(run(&fs, "echo -n x"), ("x".into(), "".into(), 0));
        assert_eq!(run(&fs, "echo oops >&2"), ("".into(), "oops\n".into(), 0));
        assert_eq!(run(&fs, "echo oops 1>&2; echo fine"), ("fine\n".into(), "oops\n".into(), 0));
        assert_eq!(run(&fs, "echo a>&2"), ("".into(), "a\n".into(), 0));
        assert_eq!(run(&fs, "echo '>&2'"), (">&2\n".into(), "".into(), 0));
        assert_eq!(run(&fs, "printf 'a\\nb %s|%%\\n' x"), ("a\nb x|%\n".into(), "".into(), 0));
        assert_eq!(run(&fs, "cat nope 2>&1"), ("cat: nope: No such file or directory\n".into(), "".into(), 1));
        assert_eq!(run(&fs, "echo # comment"), ("\n".into(), "".into(), 0));
    }

    #[test]
    fn sequences_and_statuses() {
        let fs = Fs::new("admin", "board1");
        assert_eq!(run(&fs, "true; false").2, 1);
        assert_eq!(run(&fs, "false; true").2, 0);
        assert_eq!(run(&fs, "echo a; exit 3; echo b"), ("a\n".into(), "".into(), 3));
        assert_eq!(run(&fs, "false; exit"), ("".into(), "".into(), 1));
        assert_eq!(run(&fs, "false && echo no || echo yes"), ("yes\n".into(), "".into(), 0));
        assert_eq!(run(&fs, "nosuch --flag"), ("".into(), "sh: 1: nosuch: not found\n".into(), 127));
        assert_eq!(run(&fs, "nosuch; echo after").2, 0);
        assert_eq!(run(&fs, "").2, 0);
        assert_eq!(run(&fs, "echo 'open").2, 2);
        assert_eq!(run(&fs, "; echo").2, 2);
        assert_eq!(run(&fs, "echo a |").2, 2);
        assert_eq!(run(&fs, "exit 300").2, 44);
    }

    #[test]
    fn identity_commands() {
        let fs = Fs::new("admin", "board1");
        assert_eq!(run(&fs, "hostname").0, "board1\n");
        assert_eq!(run(&fs, "whoami").0, "admin\n");
        assert_eq!(run(&fs, "pwd").0, "/home/admin\n");
        assert!(run(&fs, "uname -a").0.starts_with("Linux board1 "));
        assert_eq!(run(&fs, "uname").0, "Linux\n");
        assert_eq!(Fs::new("root", "x").home(), "/root");
    }

    #[test]
    fn files_through_commands() {
        let fs = Fs::new("admin", "board1");
        assert_eq!(run(&fs, "echo one > a.txt; echo two >> a.txt; cat a.txt"), ("one\ntwo\n".into(), "".into(), 0));
        assert_eq!(fs.read("/home/admin/a.txt").unwrap(), b"one\ntwo\n");
        assert_eq!(
            run(&fs, "mkdir -p d/e && cd d && echo x > e/f && pwd && ls && ls e/f && ls .."),
            ("/home/admin/d\ne\ne/f\na.txt\nd\n".into(), "".into(), 0)
        );
        assert_eq!(run(&fs, "cat ~/d/e/f /tmp/../home/admin/a.txt").0, "x\none\ntwo\n");
        assert_eq!(
            run(&fs, "ls /nope"),
            ("".into(), "ls: cannot access '/nope': No such file or directory\n".into(), 2)
        );
        assert_eq!(run(&fs, "cat /tmp"), ("".into(), "cat: /tmp: Is a directory\n".into(), 1));
        assert_eq!(run(&fs, "echo x > /nope/f").1, "sh: 1: cannot create /nope/f: Directory nonexistent\n");
        assert_eq!(
            run(&fs, "rm a.txt; rm a.txt"),
            ("".into(), "rm: cannot remove 'a.txt': No such file or directory\n".into(), 1)
        );
        assert_eq!(run(&fs, "rm -f a.txt").2, 0);
        assert_eq!(run(&fs, "cd /nope").2, 2);
        assert_eq!(run(&fs, "ls /").0, "etc\nhome\ntmp\n");
        fs.write("/tmp/big", vec![0; 5000]).unwrap();
        let (out, _, status) = run(&fs, "ls -l /tmp /tmp/big");
        assert_eq!(status, 0);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "total 5");
        assert!(lines[1].starts_with("-rw-r--r-- 1 admin admin     5000 ") && lines[1].ends_with(" big"), "{out}");
        assert!(lines[2].ends_with(" /tmp/big"), "{out}");
        assert_eq!(run(&fs, "ls -x").1, "ls: invalid option -- 'x'\n");
        assert_eq!(ls_time(0), "Jan  1 00:00");
        assert_eq!(ls_time(1_795_242_120), "Nov 21 06:22");
        assert_eq!(ls_time(951_782_400), "Feb 29 00:00");
    }

    #[test]
    fn fs_edges() {
        let fs = Fs::new("admin", "b");
        fs.write("f", b"hello".to_vec()).unwrap();
        fs.write_at("f", 7, b"!").unwrap();
        assert_eq!(fs.read("f").unwrap(), b"hello\0\0!");
        assert_eq!(fs.read_at("f", 6, 100).unwrap(), b"\0!");
        assert!(fs.read_at("f", 100, 10).unwrap().is_empty());
        assert_eq!(fs.create("f", false, true), Err(FsError::Exists));
        assert_eq!(fs.create("/no/f", false, false), Err(FsError::NotFound));
        assert_eq!(fs.create("f/g", false, false), Err(FsError::NotDir));
        assert_eq!(fs.remove("/tmp"), Err(FsError::IsDir));
        assert_eq!(fs.rmdir("/home"), Err(FsError::NotEmpty));
        fs.rename("f", "/tmp/g").unwrap();
        assert_eq!(fs.stat("/tmp/g").unwrap().size, 8);
        assert_eq!(fs.stat("f"), Err(FsError::NotFound));
        let clone = fs.clone();
        clone.mkdir("/tmp/d").unwrap();
        assert!(fs.stat("/tmp/d").unwrap().is_dir);
        fs.rmdir("/tmp/d").unwrap();
        assert_eq!(fs.list("/tmp").unwrap().iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["g"]);
        assert_eq!(fs.list("/tmp/g"), Err(FsError::NotDir));
        assert_eq!(fs.write_at("/tmp/g", 1 << 40, b"x"), Err(FsError::TooLarge));
        assert_eq!(fs.set_len("/tmp/g", u64::MAX), Err(FsError::TooLarge));
    }
}
