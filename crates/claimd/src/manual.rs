//! The manual page and shell completions, made from the command-line definitions themselves
//! (clap_mangen, clap_complete), so they can never disagree with `--help`. The Debian package
//! ships them (`scripts/package`): `claimd(1)` lists every subcommand, then describes each
//! with its arguments and options.

use std::io::{self, Write};

use clap::Command;
use clap_complete::Shell;

/// Writes the completions for `shell` to standard output.
pub fn completions(mut command: Command, shell: Shell) {
    clap_complete::generate(shell, &mut command, "claimd", &mut io::stdout());
}

/// Writes `claimd(1)` (roff) to standard output.
pub fn manpage(command: Command) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let page = clap_mangen::Man::new(command.clone());
    page.render_title(&mut out)?;
    page.render_name_section(&mut out)?;
    page.render_synopsis_section(&mut out)?;
    page.render_description_section(&mut out)?;
    page.render_options_section(&mut out)?;
    // Every subcommand on this one page: listed, then each in its own section.
    writeln!(out, ".SH COMMANDS")?;
    for sub in visible(&command) {
        writeln!(out, ".TP\n\\fBclaimd {}\\fR", sub.get_name())?;
        writeln!(out, "{}", escape(&about(sub)))?;
    }
    for sub in visible(&command) {
        subcommand(&mut out, sub, "claimd")?;
    }
    page.render_version_section(&mut out)?;
    out.flush()
}

fn visible(command: &Command) -> impl Iterator<Item = &Command> {
    command.get_subcommands().filter(|s| !s.is_hide_set())
}

fn about(command: &Command) -> String {
    command
        .get_about()
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// Text safe in a roff line: no leading control character, backslashes doubled.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\\\");
    if text.starts_with(['.', '\'']) {
        format!("\\&{text}")
    } else {
        text
    }
}

/// A section for one subcommand (and, after it, its own subcommands): its synopsis, what it
/// does, and its arguments and options, as subsections.
fn subcommand(out: &mut impl Write, sub: &Command, parent: &str) -> io::Result<()> {
    let name = format!("{parent} {}", sub.get_name());
    writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
    let page = clap_mangen::Man::new(
        sub.clone()
            .bin_name(name.clone())
            .display_name(name.clone()),
    );
    let mut body = Vec::new();
    page.render_synopsis_section(&mut body)?;
    page.render_description_section(&mut body)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        page.render_options_section(&mut body)?;
    }
    let body = String::from_utf8_lossy(&body).replace("\n.SH ", "\n.SS ");
    let body = body
        .strip_prefix(".SH ")
        .map_or(body.clone(), |rest| format!(".SS {rest}"));
    out.write_all(body.as_bytes())?;
    for nested in visible(sub) {
        subcommand(out, nested, &name)?;
    }
    Ok(())
}
