//! `netrig_parse`: TextFSM parsing of command output through an ntc-templates style index,
//! with the records handed back as JSON in a result object (as `netrig_run_json` hands back
//! the run report), because a record set can be as large as the output it came from.

use std::ffi::c_char;
use std::path::Path;
use std::time::Instant;

use super::args::{opt_str, str_arg, Out};
use super::guard::call;
use super::handle::CHandle;
use super::output::{netrig_output, COutput};
use crate::error::{netrig_status, Result};

/// Parses and wraps the records' JSON in a result object.
fn parse_to_output(text: &str, platform: &str, command: &str, templates: Option<&str>) -> Result<netrig_output> {
    let t0 = Instant::now();
    let records = crate::parse::parse(text, platform, command, templates.map(Path::new))?;
    netrig_output::insert(COutput::new(crate::parse::to_json(&records).into_bytes(), Vec::new(), 0, t0.elapsed()))
}

/// Parses `text`, the output of `command` on a device of `platform` (netrig's platform name,
/// which is ntc-templates' name: "cisco_ios", "arista_eos", ...), with the TextFSM template
/// that the `index` file of `templates` names for them (abbreviations as the index allows:
/// "sh ip int br" finds "show ip interface brief"). `templates` NULL or "" uses the directory
/// in `NETRIG_TEMPLATES`. The result's text (`netrig_output_text`) is a JSON array of objects,
/// one per record, keyed by the template's Value names in lower case, each value a string or
/// (List values) an array of strings. Output the template does not recognise gives `[]`.
/// NETRIG_E_NOT_FOUND: no templates directory, no index in it, or no template for the
/// platform and command (the message names both and the index). NETRIG_E_INVALID_ARG: a
/// template or index that does not compile (the message names its file and line).
/// NETRIG_E_COMMAND: the template's Error action rejected the output.
///
/// Ownership: all arguments are borrowed; on success `*json` receives a result the caller
/// frees with `netrig_output_free`.
/// Blocking: reads and compiles the index and templates on first use of a directory (then
/// cached for the process, re-read when a file changes), and parses: no network, no waits.
/// Thread-safety: any thread; the cache is shared and safe to use from many threads at once.
#[no_mangle]
pub unsafe extern "C" fn netrig_parse(
    text: *const c_char,
    platform: *const c_char,
    command: *const c_char,
    templates: *const c_char,
    json: *mut netrig_output,
) -> netrig_status {
    call("netrig_parse", || {
        let json = Out::new(json, "json")?;
        let text = str_arg(text, "text")?;
        let platform = str_arg(platform, "platform")?;
        let command = str_arg(command, "command")?;
        let templates = opt_str(templates, "templates")?;
        json.set(parse_to_output(text, platform, command, templates)?);
        Ok(())
    })
}

/// Parses the text of a CLI operation's result (`netrig_device_send_command` and the other
/// CLI calls; a runner's steps parse with `netrig_job_add_command_parsed`) as `netrig_parse`
/// does, with the command and platform the result carries. `templates` NULL or "" uses
/// `NETRIG_TEMPLATES`. NETRIG_E_INVALID_ARG for a result that carries no command (exec output,
/// a JSON result, a run's step output); the other statuses as `netrig_parse`.
///
/// Ownership: `out` and `templates` are borrowed; on success `*json` receives a new result
/// the caller frees with `netrig_output_free` (`out` stays the caller's).
/// Blocking: as `netrig_parse`. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_parse(
    out: netrig_output,
    templates: *const c_char,
    json: *mut netrig_output,
) -> netrig_status {
    call("netrig_output_parse", || {
        let json = Out::new(json, "json")?;
        let templates = opt_str(templates, "templates")?;
        // Copied out, so that the parse (file reads, compiling) holds no slot of the table.
        let (text, command, platform) = out.try_with(|o| {
            let (command, platform) = o.parse_key();
            if command.is_empty() || platform.is_empty() {
                return Err(crate::Error::InvalidArg(
                    "netrig_output_parse: this result is not a CLI command's output (it has no command and platform)"
                        .into(),
                ));
            }
            Ok((String::from_utf8_lossy(o.text_bytes()).into_owned(), command, platform))
        })?;
        let result = parse_to_output(&text, &platform, &command, templates)?;
        json.set(result);
        Ok(())
    })
}

/// Parses `text` with the TextFSM template file `template` itself, without an index
/// (netmiko's `textfsm_template=`): the result as `netrig_parse`'s. NETRIG_E_NOT_FOUND for a
/// missing file, NETRIG_E_INVALID_ARG for a template that does not compile (file and line).
///
/// Ownership: all arguments are borrowed; on success `*json` receives a result the caller
/// frees with `netrig_output_free`.
/// Blocking: reads and compiles the file on first use (then cached for the process, re-read
/// when it changes), and parses. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_parse_template(
    text: *const c_char,
    template: *const c_char,
    json: *mut netrig_output,
) -> netrig_status {
    call("netrig_parse_template", || {
        let json = Out::new(json, "json")?;
        let text = str_arg(text, "text")?;
        let template = str_arg(template, "template")?;
        let t0 = Instant::now();
        let records = crate::parse::parse_template_file(text, Path::new(template))?;
        json.set(netrig_output::insert(COutput::new(
            crate::parse::to_json(&records).into_bytes(),
            Vec::new(),
            0,
            t0.elapsed(),
        ))?);
        Ok(())
    })
}
