//! Device profiles: everything that makes a fake device look like a platform, as data.
//!
//! A profile is a TOML file (profiles/*.toml); a test adds a platform by writing one, with no
//! Rust change. Templates may use `{host}` (the current hostname) and `{user}` (the login user).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub hostname: String,
    pub username: String,
    pub password: String,
    /// The enable secret, when the platform has an enable mode.
    #[serde(default)]
    pub secret: Option<String>,
    /// Printed when the shell starts, before the first prompt (a MOTD).
    #[serde(default)]
    pub motd: Option<String>,
    /// SSH login banner, sent during authentication.
    #[serde(default)]
    pub login_banner: Option<String>,
    /// Wait for RETURN ("Press RETURN to get started") before the first prompt.
    #[serde(default)]
    pub press_return: bool,
    /// What the device shows while `press_return` waits, instead of "Press RETURN to get
    /// started." (ProCurve's "Press any key to continue").
    #[serde(default)]
    pub press_return_text: Option<String>,
    /// The login lands in enable mode, on a platform that has one: an administrator's `#`
    /// prompt (AOS-CX), who can still `disable` and `enable` again.
    #[serde(default)]
    pub start_enabled: bool,
    pub prompts: Prompts,
    #[serde(default)]
    pub enable: Option<Enable>,
    #[serde(default)]
    pub config: Option<ConfigMode>,
    pub paging: Paging,
    /// Lines printed for a command the device does not know; `{caret}` is a `^` under the
    /// first character of the command, after the prompt, and `{word}` the command's first word.
    pub invalid: String,
    /// Commands that end the session.
    #[serde(default = "default_logout")]
    pub logout: Vec<String>,
    /// Exact command -> output.
    #[serde(default)]
    pub commands: BTreeMap<String, String>,
    /// Commands whose output is generated: `lines` lines of `width` characters.
    #[serde(default)]
    pub generated: BTreeMap<String, Generated>,
    /// Commands that ask questions before they finish (`[confirm]`, y/n, filenames).
    #[serde(default)]
    pub interactive: BTreeMap<String, Vec<Step>>,
    /// A mark before the prompt while the configuration has unsaved changes (EXOS, SR OS).
    #[serde(default)]
    pub unsaved: Option<Unsaved>,
    /// What netrig's end-to-end platform test (tests/platforms.rs) does with this profile.
    #[serde(default)]
    pub e2e: E2e,
    /// Configuration at the normal prompt, for platforms without a configuration mode
    /// (EXOS' `create vlan`, RouterOS menus, FortiOS blocks).
    #[serde(default)]
    pub exec: Exec,
}

/// Configuration lines a platform without a configuration mode takes at its normal prompt:
/// EXOS' `create vlan ...`, RouterOS' `/ip address add ...` and its menus, FortiOS'
/// `config ...` blocks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Exec {
    /// First words of lines taken (with no output) anywhere at the normal prompt.
    pub accept: Vec<String>,
    /// First words taken only inside a menu or a block (RouterOS `add`, FortiOS `set`).
    pub inside: Vec<String>,
    /// Menus that a line of its own moves to (RouterOS `/ip address`); `..` moves up a level
    /// and `/` to the top. The prompt shows the current one as `{path}`. Inside a menu, a
    /// command is looked up in `commands` with the menu in front (`print` -> `/ip address print`).
    pub menus: Vec<String>,
    /// First word that opens an in-place block -> the first words that close it (FortiOS
    /// `config` -> `end`, `edit` -> `next`). A closer also closes the blocks opened inside
    /// its block. Inside a block the prompt is `prompts.block`, where `{block}` is the
    /// innermost block's name: the last word of the line that opened it.
    pub blocks: BTreeMap<String, Vec<String>>,
    /// Printed instead of `invalid` for a line refused inside a block.
    pub block_invalid: Option<String>,
}

/// How a CLI shows that the running configuration differs from the saved one: EXOS prompts
/// `* X460-48t.3 # `, SR OS `*A:router1#`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsaved {
    /// Printed before the prompt after a configuration change, until it is saved.
    pub mark: String,
    /// Commands that save the configuration (an interactive one saves when its last question
    /// is answered).
    pub saved_by: Vec<String>,
}

/// The end-to-end platform test's inputs for one profile: a paged command, configuration
/// lines the device accepts, one it rejects, and what its save prints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct E2e {
    /// A command whose output is longer than a page (one of `generated`).
    pub paged: Option<String>,
    /// Configuration lines the device accepts.
    pub config: Vec<String>,
    /// A configuration line the device rejects (its first word is in `config.reject`).
    pub rejected: Option<String>,
    /// Text that the output of `save_config` contains; empty: the save prints nothing at all.
    pub saved: Option<String>,
}

fn default_logout() -> Vec<String> {
    vec!["exit".into(), "logout".into(), "quit".into()]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    pub user: String,
    #[serde(default)]
    pub enable: Option<String>,
    #[serde(default)]
    pub config: Option<String>,
    /// A config sub-mode; `{sub}` is the sub-mode's name ("config-if").
    #[serde(default)]
    pub config_sub: Option<String>,
    /// Printed on its own line before every prompt outside config mode (Junos' "{master:0}").
    #[serde(default)]
    pub context: Option<String>,
    /// The prompt inside an in-place block (`[exec] blocks`); `{block}` is the block's name.
    #[serde(default)]
    pub block: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enable {
    pub command: String,
    pub disable: String,
    pub secret_prompt: String,
    pub wrong_secret: String,
    /// How many times the device asks for the secret before it gives up with `wrong_secret`
    /// (IOS asks three times); every wrong or empty answer before the last asks again.
    #[serde(default = "one")]
    pub attempts: usize,
    /// `command` enters enable mode without asking for a secret (AOS-CX administrators).
    #[serde(default)]
    pub no_secret: bool,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigMode {
    /// Commands that enter config mode (from enable mode).
    pub enter: Vec<String>,
    #[serde(default)]
    pub enter_message: Option<String>,
    /// Leaves a sub-mode, or config mode from the top level.
    pub exit: String,
    /// Leaves config mode from any level.
    pub end: String,
    /// The words before the new name in the config command that sets the hostname
    /// ("hostname", "set system host-name").
    pub hostname_command: String,
    /// Printed on its own line before every config-mode prompt (Junos' "[edit]").
    #[serde(default)]
    pub context_line: Option<String>,
    /// Config-mode commands with a fixed answer (Junos' "commit", "commit check").
    #[serde(default)]
    pub commands: BTreeMap<String, String>,
    /// Printed when leaving config mode.
    #[serde(default)]
    pub exit_message: Option<String>,
    /// First word -> sub-mode name, e.g. "interface" -> "config-if". `{arg}` in a name is
    /// the rest of the line as VRP and Comware name their views: the first two words run
    /// together, later ones after '-' ("GigabitEthernet 0/0/1" -> "GigabitEthernet0/0/1",
    /// "vty 0 4" -> "vty0-4").
    #[serde(default)]
    pub sub_modes: BTreeMap<String, String>,
    /// First words the device refuses in config mode (answered with `invalid`).
    #[serde(default)]
    pub reject: Vec<String>,
    /// Printed, instead of leaving, for `exit` at the top level while changes are not
    /// committed (VyOS' "Cannot exit: configuration modified.").
    #[serde(default)]
    pub modified_exit: Option<String>,
    /// Config-mode commands that commit the changes made so far (their output is in `commands`).
    #[serde(default)]
    pub commit: Vec<String>,
    /// IOS XR's commit model: changes (a new hostname too) wait for its commit command, and
    /// leaving with changes not committed asks what to do with them.
    #[serde(default)]
    pub commit_model: Option<CommitModel>,
}

/// IOS XR's two-stage configuration: lines change a target configuration, `commit` applies
/// it, and leaving configuration mode with changes not committed asks what to do with them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitModel {
    /// Applies the changes ("commit").
    pub command: String,
    /// Printed by `command`.
    #[serde(default)]
    pub output: String,
    /// Asked when `end` (or `exit` at the top level) leaves with changes not committed; an
    /// answer starting with y commits them, with n discards them, anything else stays.
    pub question: String,
    /// Discards the changes and leaves configuration mode ("abort").
    #[serde(default)]
    pub abort: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// What the device prints when a page is full, e.g. " --More-- ".
    pub more: String,
    /// Lines per page until the client changes it; 0 = no paging.
    pub default_length: usize,
    /// First words of the command that sets the page length (`terminal length 0`); none
    /// when empty.
    #[serde(default)]
    pub length_command: String,
    /// First words of the command that sets the width (`terminal width 511`); none when empty.
    #[serde(default)]
    pub width_command: String,
    /// Whole commands that turn paging off (`screen-length 0 temporary`, `set cli pager off`,
    /// `no page`, `disable clipaging`, `environment no more`).
    #[serde(default)]
    pub off: Vec<String>,
    /// Keys that, at the paging marker, print all the rest at once (RouterOS' `D` dump).
    #[serde(default)]
    pub dump: String,
    /// What the device prints to erase the marker when a key is pressed; backspaces over it
    /// when not given (IOS).
    #[serde(default)]
    pub erase: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generated {
    pub lines: usize,
    pub width: usize,
}

/// One question of an interactive command: print `prompt`, read a line; an answer that does
/// not start with `expect` (when given) aborts with `abort`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub prompt: String,
    #[serde(default)]
    pub expect: Option<String>,
    #[serde(default)]
    pub abort: Option<String>,
    /// Printed after the answer is accepted.
    #[serde(default)]
    pub output: String,
}

impl Profile {
    /// The profiles in profiles/, compiled in: (name, TOML text).
    const FILES: &'static [(&'static str, &'static str)] = include!(concat!(env!("OUT_DIR"), "/profiles.rs"));

    /// The names `builtin` knows: every file in profiles/.
    pub fn builtin_names() -> Vec<&'static str> {
        Profile::FILES.iter().map(|(name, _)| *name).collect()
    }

    pub fn from_toml(text: &str) -> Result<Profile, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    pub fn load(path: &Path) -> Result<Profile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Profile::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A built-in profile by name (the files in profiles/, compiled in).
    pub fn builtin(name: &str) -> Result<Profile, String> {
        let (_, text) = Profile::FILES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| format!("no built-in profile '{name}' (known: {})", Profile::builtin_names().join(", ")))?;
        Profile::from_toml(text).map_err(|e| format!("profile {name}: {e}"))
    }
}
