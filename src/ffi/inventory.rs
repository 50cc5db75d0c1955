//! `netrig_job_add_inventory` and `netrig_inventory_json`: Nornir-style YAML inventories
//! (src/inventory/) as named targets of a job, or as JSON for bindings that build their own.

use std::ffi::c_char;
use std::path::Path;
use std::time::Duration;

use super::args::{opt_str, str_arg, Out};
use super::guard::call;
use super::handle::CHandle;
use super::job::{add_targets, netrig_job};
use super::output::{netrig_output, COutput};
use crate::error::{netrig_status, Result};
use crate::inventory::{Filter, Inventory};

fn load(
    hosts: *const c_char,
    groups: *const c_char,
    defaults: *const c_char,
    filter: *const c_char,
) -> Result<(Inventory, Option<Filter>)> {
    let hosts = str_arg(hosts, "hosts")?;
    let groups = opt_str(groups, "groups")?;
    let defaults = opt_str(defaults, "defaults")?;
    let filter = opt_str(filter, "filter")?.map(Filter::parse).transpose()?;
    let inv = Inventory::load(Path::new(hosts), groups.map(Path::new), defaults.map(Path::new))?;
    Ok((inv, filter))
}

/// Loads a Nornir-style inventory and adds the hosts `filter` takes to the job as named targets
/// with their merged data (as `netrig_job_add_target_named`), in the order of hosts.yaml.
///
/// Files: `hosts` (hosts.yaml: host name -> entry), `groups` (groups.yaml: group name -> entry;
/// NULL: none) and `defaults` (defaults.yaml: one entry; NULL: none). An entry may set Nornir's
/// hostname (default: the host's name), port, username, password, platform, groups (a list;
/// not in defaults) and data (a mapping), and netrig's device options at its top level under the
/// names of the Python `Device` keywords: secret, private_key_file, private_key, passphrase,
/// use_agent, host_key ("strict", "pinned", "accept-new", "insecure"), known_hosts,
/// fingerprint, connect_timeout, auth_timeout, timeout, keepalive (seconds; keepalive 0 = none),
/// prompt_pattern, paging_off_command, enable_command, config_command, config_exit_command,
/// config_prompt_pattern, terminal ([columns, rows]), session_log, session_log_timestamps,
/// platform_file, platform_text, error_pattern. Any other key (also Nornir's
/// connection_options) is refused. A value comes from the host, else its groups in order, each
/// before its own groups (depth first), else the defaults; data merges key by key the same way;
/// null means "not set here". `${env:NAME}` in a string is replaced by that environment
/// variable. Relative paths are relative to their file's folder. username and a platform must
/// resolve for every host.
///
/// `filter` (NULL: every host) selects hosts; its terms, combined with `and` (or side by side),
/// `or`, `not` and parentheses:
///   name=GLOB        the host's name (`*` any run, `?` one character)
///   group=NAME       membership, direct or through other groups
///   KEY=VALUE        a data key (nested with '.' or '__': rack.row=3) equal to VALUE, compared
///                    as the data's JSON type (a list matches when one item does); a data key
///                    called name or group is written data.name
///   KEY!=VALUE       the negation
///   VALUE in quotes ("uplink 1") may hold spaces and parentheses.
/// Example: `group=core and not site=lab or name=edge-*`.
///
/// `*out_count` (may be NULL) receives how many targets were added. Errors add nothing:
/// NETRIG_E_NOT_FOUND for a missing file, NETRIG_E_IO for an unreadable one,
/// NETRIG_E_INVALID_ARG for a bad file, naming the file, line and key ("hosts.yaml, line 7:
/// sw3.groups: group 'core' is not defined in groups.yaml"), a variable that is not set, or a
/// bad filter (naming its position).
///
/// Ownership: the strings are borrowed for the call; the job keeps copies of the targets.
/// Blocking: reads the three files (and any platform files they name). Thread-safety: any
/// thread; a job may be built from several threads.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_inventory(
    job: netrig_job,
    hosts: *const c_char,
    groups: *const c_char,
    defaults: *const c_char,
    filter: *const c_char,
    out_count: *mut usize,
) -> netrig_status {
    call("netrig_job_add_inventory", || {
        job.with(|_| ())?;
        let out_count = Out::optional(out_count);
        let (inv, filter) = load(hosts, groups, defaults, filter)?;
        let targets = inv.targets(filter.as_ref());
        let n = targets.len();
        add_targets(job, targets)?;
        out_count.set(n);
        Ok(())
    })
}

/// Loads an inventory as `netrig_job_add_inventory` does and gives the hosts `filter` takes
/// (NULL: all) as JSON in the text of a result object: an array, in the order of hosts.yaml, of
/// objects with name, groups (the host's own), all_groups (also those inherited, in resolution
/// order), data (merged) and options (merged, under the Python `Device` keyword names: host,
/// port, username, password, secret, ...; times in seconds, keepalive null for none). The
/// options hold passwords and secrets in clear: keep the text in the process, never log it.
///
/// Ownership: the strings are borrowed for the call; on success `*out` receives a result the
/// caller frees with `netrig_output_free`. Blocking: reads the files. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_inventory_json(
    hosts: *const c_char,
    groups: *const c_char,
    defaults: *const c_char,
    filter: *const c_char,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_inventory_json", || {
        let out = Out::new(out, "out")?;
        let (inv, filter) = load(hosts, groups, defaults, filter)?;
        let json = inv.to_json(filter.as_ref());
        out.set(netrig_output::insert(COutput::new(json.into_bytes(), Vec::new(), 0, Duration::ZERO))?);
        Ok(())
    })
}
