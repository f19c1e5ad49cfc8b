//! The files under packaging/ and the `[package.metadata.deb]` table: the systemd unit is
//! valid and hardened, the launchd agent is a well-formed property list with the keys launchd
//! needs, and cargo-deb's metadata ships the binary, the unit and the env file.
//!
//! Nothing here needs systemd running: `systemd-analyze verify` and `security --offline` work on
//! a plain file, and where `systemd-analyze` is missing those two checks say so and pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIT: &str = "packaging/systemd/wa-mcp.service";
const USER_UNIT: &str = "packaging/systemd/user/wa-mcp.service";
const PLIST: &str = "packaging/launchd/com.wa-mcp.serve.plist";
const ENV_EXAMPLE: &str = "packaging/wa-mcp.env.example";
const BACKUP_UNIT: &str = "packaging/systemd/backup/wa-mcp-backup.service";
const BACKUP_TIMER: &str = "packaging/systemd/backup/wa-mcp-backup.timer";
const USER_BACKUP_UNIT: &str = "packaging/systemd/user/wa-mcp-backup.service";
const USER_BACKUP_TIMER: &str = "packaging/systemd/user/wa-mcp-backup.timer";
const BACKUP_PLIST: &str = "packaging/launchd/com.wa-mcp.backup.plist";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// systemd
// ---------------------------------------------------------------------------------------------

/// `section -> key -> every value assigned, in order` (systemd lets a key repeat; an empty
/// assignment resets the list, which the checks below look at explicitly).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse_unit(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = String::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        assert!(
            !line.ends_with('\\'),
            "line {}: continuation lines are not used in this unit",
            n + 1
        );
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            unit.entry(section.clone()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: not key=value: {raw}", n + 1));
        assert!(
            !section.is_empty(),
            "line {}: key before any section",
            n + 1
        );
        unit.entry(section.clone())
            .or_default()
            .entry(key.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    unit
}

fn values<'a>(unit: &'a Unit, section: &str, key: &str) -> &'a [String] {
    unit.get(section)
        .and_then(|s| s.get(key))
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("[{section}] has no {key}="))
}

/// The one value of a key that must be set exactly once.
fn single<'a>(unit: &'a Unit, section: &str, key: &str) -> &'a str {
    let all = values(unit, section, key);
    assert_eq!(
        all.len(),
        1,
        "[{section}] {key}= is set {} times",
        all.len()
    );
    &all[0]
}

fn is_true(value: &str) -> bool {
    matches!(value, "yes" | "true" | "on" | "1")
}

/// Space-separated words of every assignment of a list-valued key, honouring empty resets.
fn words(unit: &Unit, section: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for v in values(unit, section, key) {
        if v.is_empty() {
            out.clear();
        }
        out.extend(v.split_whitespace().map(str::to_owned));
    }
    out
}

/// A systemd time span in seconds ("45s", "45", "1min 30s", "2min").
fn seconds(span: &str) -> u64 {
    let mut total = 0;
    for part in span.split_whitespace() {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        let unit = &part[digits.len()..];
        let n: u64 = digits
            .parse()
            .unwrap_or_else(|_| panic!("not a time span: {span}"));
        total += n * match unit {
            "" | "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" | "hr" => 3600,
            other => panic!("unexpected time unit {other:?} in {span}"),
        };
    }
    total
}

#[test]
fn systemd_unit_has_the_hardening_directives() {
    let unit = parse_unit(&read(UNIT));
    let s = "Service";

    assert_eq!(single(&unit, s, "ExecStart"), "/usr/bin/wa-mcp serve");
    assert!(is_true(single(&unit, s, "DynamicUser")), "DynamicUser=yes");
    assert_eq!(single(&unit, s, "StateDirectory"), "wa-mcp");
    assert!(
        values(&unit, s, "Environment")
            .iter()
            .any(|v| v == "WA_DB_PATH=/var/lib/wa-mcp/wa-mcp.db"),
        "the database must live in the StateDirectory, the only writable path"
    );
    assert_eq!(
        single(&unit, s, "EnvironmentFile"),
        "-/etc/wa-mcp/wa-mcp.env"
    );

    for key in [
        "ProtectHome",
        "PrivateTmp",
        "NoNewPrivileges",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RestrictRealtime",
        "RestrictSUIDSGID",
    ] {
        assert!(is_true(single(&unit, s, key)), "{key}=yes");
    }
    assert_eq!(single(&unit, s, "ProtectSystem"), "strict");

    let mut families = words(&unit, s, "RestrictAddressFamilies");
    families.sort();
    assert_eq!(families, ["AF_INET", "AF_INET6", "AF_UNIX"]);

    let filters = values(&unit, s, "SystemCallFilter");
    assert_eq!(filters[0], "@system-service", "allow-list first");
    assert!(
        filters[1..].iter().all(|f| f.starts_with('~')),
        "later filters may only take away: {filters:?}"
    );

    // Empty = no capabilities at all; a later non-empty line would add some back.
    let caps = values(&unit, s, "CapabilityBoundingSet");
    assert!(
        caps.iter().all(String::is_empty),
        "no capabilities: {caps:?}"
    );
    if let Some(ambient) = unit[s].get("AmbientCapabilities") {
        assert!(ambient.iter().all(String::is_empty), "{ambient:?}");
    }
    for key in ["User", "Group", "SupplementaryGroups"] {
        assert!(
            !unit[s].contains_key(key),
            "{key}= would override DynamicUser"
        );
    }

    assert_eq!(single(&unit, s, "UMask"), "0077");
    assert_eq!(single(&unit, s, "Restart"), "on-failure");
    assert!(seconds(single(&unit, s, "RestartSec")) >= 1);
    assert_eq!(single(&unit, s, "KillSignal"), "SIGTERM");
    // wa-mcp drains requests in flight for up to 30 s after SIGTERM.
    let stop = seconds(single(&unit, s, "TimeoutStopSec"));
    assert!(
        stop > 30,
        "TimeoutStopSec={stop}s leaves no room for the 30 s drain"
    );

    for key in ["After", "Wants"] {
        assert!(
            words(&unit, "Unit", key).contains(&"network-online.target".to_owned()),
            "[Unit] {key}=network-online.target"
        );
    }
    assert_eq!(single(&unit, "Install", "WantedBy"), "multi-user.target");
}

#[test]
fn systemd_user_unit_shares_the_default_database() {
    let unit = parse_unit(&read(USER_UNIT));
    let s = "Service";
    assert_eq!(single(&unit, s, "ExecStart"), "/usr/bin/wa-mcp serve");
    assert!(
        !read(USER_UNIT).contains("\nEnvironment=WA_DB_PATH"),
        "the user service must use the default path that `wa-mcp mcp` opens"
    );
    assert_eq!(
        single(&unit, s, "EnvironmentFile"),
        "-%h/.config/wa-mcp/wa-mcp.env"
    );
    assert_eq!(single(&unit, s, "UMask"), "0077");
    assert_eq!(single(&unit, s, "Restart"), "on-failure");
    assert!(seconds(single(&unit, s, "TimeoutStopSec")) > 30);
    assert_eq!(values(&unit, s, "SystemCallFilter")[0], "@system-service");
    assert!(is_true(single(&unit, s, "NoNewPrivileges")));
    // A user manager cannot change the bounding set: the unit would fail to start.
    assert!(!unit[s].contains_key("CapabilityBoundingSet"));
    assert_eq!(single(&unit, "Install", "WantedBy"), "default.target");
}

fn systemd_analyze(args: &[&str], unit: &Path) -> Option<Output> {
    match Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
    {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("systemd-analyze: {e}"),
    }
}

/// The unit as shipped when /usr/bin/wa-mcp exists, else a copy in a temporary folder (same
/// file name, so unit-name checks still apply) whose ExecStart runs the binary under test.
fn verifiable_unit(rel: &str, dir: &Path) -> PathBuf {
    let shipped = root().join(rel);
    if Path::new("/usr/bin/wa-mcp").exists() {
        return shipped;
    }
    let binary = env!("CARGO_BIN_EXE_wa-mcp");
    let text = read(rel);
    assert!(text.contains("\nExecStart=/usr/bin/wa-mcp "));
    let copy = dir.join("wa-mcp.service");
    std::fs::write(
        &copy,
        text.replace(
            "\nExecStart=/usr/bin/wa-mcp ",
            &format!("\nExecStart={binary} "),
        ),
    )
    .expect("write the unit copy");
    copy
}

fn report(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `systemd-analyze [--user] verify`, failing on any complaint about our file: an unknown or
/// misspelt key is only a warning (exit 0).
fn verify(rel: &str, user: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = verifiable_unit(rel, dir.path());
    let mut args = vec!["verify"];
    if user {
        args.insert(0, "--user");
    }
    let mut cmd = Command::new("systemd-analyze");
    cmd.args(&args).arg(&unit);
    if user {
        // The user manager wants a runtime directory even to load a file offline.
        let runtime = dir.path().join("runtime");
        std::fs::create_dir(&runtime).expect("runtime dir");
        cmd.env("XDG_RUNTIME_DIR", &runtime);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: systemd-analyze is not installed, {rel} was not verified");
            return;
        }
        Err(e) => panic!("systemd-analyze: {e}"),
    };
    assert!(out.status.success(), "{}", report(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("wa-mcp.service"))
        .collect();
    assert!(ours.is_empty(), "systemd-analyze complains: {ours:#?}");
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    verify(UNIT, false);
}

#[test]
fn systemd_user_unit_passes_systemd_analyze_verify() {
    verify(USER_UNIT, true);
}

#[test]
fn systemd_unit_exposure_is_low() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = verifiable_unit(UNIT, dir.path());
    // The threshold is ten times the printed exposure: fail above 2.0 ("OK" ends at 3.9).
    let Some(out) = systemd_analyze(
        &["security", "--offline=yes", "--threshold=20", "--no-pager"],
        &unit,
    ) else {
        eprintln!("skipped: systemd-analyze is not installed, the exposure was not measured");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("unrecognized option") || stderr.contains("Unknown option") {
        eprintln!("skipped: this systemd-analyze has no `security --offline` (systemd < 250)");
        return;
    }
    assert!(out.status.success(), "{}", report(&out));
}

// ---------------------------------------------------------------------------------------------
// the nightly backup (systemd)
// ---------------------------------------------------------------------------------------------

/// The arguments of `ExecStart=`: the binary, `backup`, the folder, `--keep N`.
fn backup_exec(unit: &Unit) -> Vec<String> {
    let exec: Vec<String> = single(unit, "Service", "ExecStart")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(exec[..2], ["/usr/bin/wa-mcp", "backup"], "{exec:?}");
    assert_eq!(exec[3..], ["--keep", "7"], "{exec:?}");
    exec
}

fn assert_nightly_timer(rel: &str) {
    let timer = parse_unit(&read(rel));
    let calendar = single(&timer, "Timer", "OnCalendar");
    assert!(
        calendar.starts_with("*-*-* ") || calendar == "daily",
        "once a day: {calendar}"
    );
    assert!(
        is_true(single(&timer, "Timer", "Persistent")),
        "a missed night runs at boot"
    );
    assert!(
        !timer["Timer"].contains_key("Unit"),
        "the timer starts the service of its own name"
    );
    assert_eq!(single(&timer, "Install", "WantedBy"), "timers.target");
}

#[test]
fn system_backup_runs_as_the_receivers_user_on_its_database() {
    let unit = parse_unit(&read(BACKUP_UNIT));
    let receiver = parse_unit(&read(UNIT));
    let s = "Service";
    assert_eq!(single(&unit, s, "Type"), "oneshot");
    let exec = backup_exec(&unit);
    assert_eq!(exec[2], "/var/lib/wa-mcp-backups");
    assert_eq!(
        values(&unit, s, "Environment"),
        values(&receiver, s, "Environment"),
        "the same database as wa-mcp.service"
    );
    assert_eq!(
        single(&unit, s, "EnvironmentFile"),
        single(&receiver, s, "EnvironmentFile")
    );
    // The receiver's dynamic user is named after its unit: the same name, the same UID.
    assert!(is_true(single(&unit, s, "DynamicUser")));
    assert_eq!(single(&unit, s, "User"), "wa-mcp");
    assert_eq!(
        words(&unit, s, "StateDirectory"),
        ["wa-mcp", "wa-mcp-backups"]
    );
    assert_eq!(single(&unit, s, "UMask"), "0077");
    for key in [
        "ProtectHome",
        "PrivateTmp",
        "PrivateNetwork",
        "NoNewPrivileges",
        "PrivateDevices",
    ] {
        assert!(is_true(single(&unit, s, key)), "{key}=yes");
    }
    assert_eq!(single(&unit, s, "ProtectSystem"), "strict");
    assert!(
        values(&unit, s, "CapabilityBoundingSet")
            .iter()
            .all(String::is_empty)
    );
    assert!(
        !unit.contains_key("Install"),
        "started by the timer, never enabled itself"
    );
    assert_nightly_timer(BACKUP_TIMER);
}

#[test]
fn user_backup_copies_the_default_database_nightly() {
    let text = read(USER_BACKUP_UNIT);
    let unit = parse_unit(&text);
    assert_eq!(single(&unit, "Service", "Type"), "oneshot");
    assert_eq!(backup_exec(&unit)[2], "%h/.local/share/wa-mcp-backups");
    assert!(
        !text.contains("\nEnvironment=WA_DB_PATH"),
        "the default database"
    );
    assert_eq!(
        single(&unit, "Service", "EnvironmentFile"),
        single(&parse_unit(&read(USER_UNIT)), "Service", "EnvironmentFile")
    );
    assert!(!unit["Service"].contains_key("CapabilityBoundingSet"));
    assert!(!unit.contains_key("Install"));
    assert_nightly_timer(USER_BACKUP_TIMER);
}

/// `systemd-analyze verify` on a backup timer and its service (with ExecStart pointing at
/// the binary under test when /usr/bin/wa-mcp is absent), failing on any complaint.
fn verify_backup_pair(service: &str, timer: &str, user: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = env!("CARGO_BIN_EXE_wa-mcp");
    let mut text = read(service);
    if !Path::new("/usr/bin/wa-mcp").exists() {
        text = text.replace(
            "\nExecStart=/usr/bin/wa-mcp ",
            &format!("\nExecStart={binary} "),
        );
    }
    std::fs::write(dir.path().join("wa-mcp-backup.service"), text).expect("service copy");
    let timer_copy = dir.path().join("wa-mcp-backup.timer");
    std::fs::write(&timer_copy, read(timer)).expect("timer copy");
    let mut cmd = Command::new("systemd-analyze");
    if user {
        let runtime = dir.path().join("runtime");
        std::fs::create_dir(&runtime).expect("runtime dir");
        cmd.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
    }
    cmd.arg("verify")
        .arg(&timer_copy)
        .arg(dir.path().join("wa-mcp-backup.service"));
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: systemd-analyze is not installed, {timer} was not verified");
            return;
        }
        Err(e) => panic!("systemd-analyze: {e}"),
    };
    assert!(out.status.success(), "{}", report(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("wa-mcp-backup."))
        .collect();
    assert!(ours.is_empty(), "systemd-analyze complains: {ours:#?}");
}

#[test]
fn backup_unit_exposure_is_low() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("wa-mcp-backup.service");
    let binary = env!("CARGO_BIN_EXE_wa-mcp");
    let text = read(BACKUP_UNIT).replace(
        "\nExecStart=/usr/bin/wa-mcp ",
        &format!("\nExecStart={binary} "),
    );
    std::fs::write(&copy, text).expect("service copy");
    let Some(out) = systemd_analyze(
        &["security", "--offline=yes", "--threshold=20", "--no-pager"],
        &copy,
    ) else {
        eprintln!("skipped: systemd-analyze is not installed, the exposure was not measured");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("unrecognized option") || stderr.contains("Unknown option") {
        eprintln!("skipped: this systemd-analyze has no `security --offline` (systemd < 250)");
        return;
    }
    assert!(out.status.success(), "{}", report(&out));
}

#[test]
fn backup_timers_pass_systemd_analyze_verify() {
    verify_backup_pair(BACKUP_UNIT, BACKUP_TIMER, false);
    verify_backup_pair(USER_BACKUP_UNIT, USER_BACKUP_TIMER, true);
}

// ---------------------------------------------------------------------------------------------
// launchd
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
enum Node {
    Element { name: String, children: Vec<Node> },
    Text(String),
}

/// A strict little XML reader for the subset a property list uses: the declaration, a DOCTYPE,
/// comments, elements without attributes (but `<plist version="1.0">`), text with the five
/// predefined entities. Panics on anything malformed, with the byte offset.
fn parse_xml(src: &str) -> Node {
    let mut stack: Vec<(String, Vec<Node>)> = vec![("#document".to_owned(), Vec::new())];
    let mut rest = src;
    let offset = |rest: &str| src.len() - rest.len();
    assert!(src.starts_with("<?xml "), "no XML declaration first");
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<?") {
            let end = after.find("?>").expect("unterminated <?");
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").expect("unterminated comment");
            assert!(
                !after[..end].contains("--"),
                "`--` inside a comment at byte {}",
                offset(rest)
            );
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<!DOCTYPE") {
            assert_eq!(stack.len(), 1, "DOCTYPE inside an element");
            let end = after.find('>').expect("unterminated DOCTYPE");
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').expect("unterminated end tag");
            let name = after[..end].trim();
            let (open, children) = stack.pop().expect("stack");
            assert_eq!(
                open,
                name,
                "</{name}> closes <{open}> at byte {}",
                offset(rest)
            );
            assert!(!stack.is_empty(), "</{name}> without an open element");
            stack.last_mut().expect("parent").1.push(Node::Element {
                name: open,
                children,
            });
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').expect("unterminated tag");
            let tag = &after[..end];
            let (tag, empty) = match tag.strip_suffix('/') {
                Some(t) => (t, true),
                None => (tag, false),
            };
            let mut parts = tag.split_whitespace();
            let name = parts.next().expect("tag name").to_owned();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric()),
                "odd tag <{name}> at byte {}",
                offset(rest)
            );
            for attr in parts {
                let (_, value) = attr.split_once('=').expect("attribute without =");
                assert!(
                    value.len() >= 2 && value.starts_with('"') && value.ends_with('"'),
                    "unquoted attribute {attr}"
                );
            }
            if stack.len() == 1 {
                let top_elements = stack[0]
                    .1
                    .iter()
                    .filter(|n| matches!(n, Node::Element { .. }))
                    .count();
                assert_eq!(top_elements, 0, "a second root element <{name}>");
            }
            if empty {
                stack.last_mut().expect("parent").1.push(Node::Element {
                    name,
                    children: Vec::new(),
                });
            } else {
                stack.push((name, Vec::new()));
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let raw = &rest[..end];
            if stack.len() == 1 {
                assert!(
                    raw.trim().is_empty(),
                    "text outside the root element: {raw:?}"
                );
            } else {
                stack
                    .last_mut()
                    .expect("parent")
                    .1
                    .push(Node::Text(unescape(raw)));
            }
            rest = &rest[end..];
        }
    }
    assert_eq!(stack.len(), 1, "unclosed <{}>", stack[stack.len() - 1].0);
    let (_, mut top) = stack.pop().expect("document");
    top.retain(|n| matches!(n, Node::Element { .. }));
    assert_eq!(top.len(), 1, "exactly one root element");
    top.pop().expect("root")
}

fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("unterminated entity") + i;
        out.push_str(match &rest[i + 1..end] {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            "apos" => "'",
            other => panic!("unknown entity &{other};"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug, PartialEq)]
enum Plist {
    Dict(Vec<(String, Plist)>),
    Array(Vec<Plist>),
    String(String),
    Integer(i64),
    Bool(bool),
}

impl Plist {
    fn get(&self, key: &str) -> Option<&Plist> {
        match self {
            Plist::Dict(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn str(&self) -> &str {
        match self {
            Plist::String(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }
}

fn elements(children: &[Node]) -> Vec<(&str, &[Node])> {
    children
        .iter()
        .filter_map(|n| match n {
            Node::Element { name, children } => Some((name.as_str(), children.as_slice())),
            Node::Text(t) => {
                assert!(t.trim().is_empty(), "stray text {t:?}");
                None
            }
        })
        .collect()
}

fn text(children: &[Node]) -> String {
    children
        .iter()
        .map(|n| match n {
            Node::Text(t) => t.as_str(),
            Node::Element { name, .. } => panic!("<{name}> inside a scalar"),
        })
        .collect()
}

fn to_plist(name: &str, children: &[Node]) -> Plist {
    match name {
        "dict" => {
            let items = elements(children);
            assert!(
                items.len().is_multiple_of(2),
                "a <dict> key without a value"
            );
            let mut entries = Vec::new();
            for pair in items.chunks(2) {
                assert_eq!(pair[0].0, "key", "<dict> entries are <key> then a value");
                let key = text(pair[0].1);
                assert!(
                    entries.iter().all(|(k, _)| k != &key),
                    "duplicate key {key}"
                );
                entries.push((key, to_plist(pair[1].0, pair[1].1)));
            }
            Plist::Dict(entries)
        }
        "array" => Plist::Array(
            elements(children)
                .into_iter()
                .map(|(n, c)| to_plist(n, c))
                .collect(),
        ),
        "string" => Plist::String(text(children)),
        "integer" => Plist::Integer(
            text(children)
                .trim()
                .parse()
                .expect("<integer> holds an integer"),
        ),
        "true" | "false" => {
            assert!(children.is_empty(), "<{name}/> is empty");
            Plist::Bool(name == "true")
        }
        other => panic!("unexpected plist element <{other}>"),
    }
}

fn load_plist() -> Plist {
    load_plist_at(PLIST)
}

fn load_plist_at(rel: &str) -> Plist {
    let Node::Element { name, children } = parse_xml(&read(rel)) else {
        panic!("no root element");
    };
    assert_eq!(name, "plist");
    let inner = elements(&children);
    assert_eq!(inner.len(), 1, "<plist> holds one value");
    assert_eq!(inner[0].0, "dict", "a launchd job is a <dict>");
    to_plist(inner[0].0, inner[0].1)
}

#[test]
fn launchd_plist_is_well_formed_with_the_expected_keys() {
    let text = read(PLIST);
    assert!(text.contains("<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\""));
    let job = load_plist();

    let label = job.get("Label").expect("Label").str();
    assert_eq!(label, "com.wa-mcp.serve");
    assert!(
        PLIST.ends_with(&format!("/{label}.plist")),
        "launchd expects the file to be named after its Label"
    );

    let Some(Plist::Array(args)) = job.get("ProgramArguments") else {
        panic!("ProgramArguments must be an array");
    };
    let args: Vec<&str> = args.iter().map(Plist::str).collect();
    assert!(
        args[0].starts_with('/') && args[0].ends_with("/wa-mcp"),
        "launchd needs an absolute path: {args:?}"
    );
    assert_eq!(&args[1..], ["serve"]);

    assert_eq!(job.get("RunAtLoad"), Some(&Plist::Bool(true)));
    let keep_alive = job.get("KeepAlive").expect("KeepAlive");
    assert_eq!(
        keep_alive.get("SuccessfulExit"),
        Some(&Plist::Bool(false)),
        "restart only after a failed exit"
    );
    let Some(&Plist::Integer(exit_timeout)) = job.get("ExitTimeOut") else {
        panic!("ExitTimeOut must be an integer");
    };
    assert!(exit_timeout > 30, "SIGKILL must wait out the 30 s drain");

    for key in ["StandardOutPath", "StandardErrorPath"] {
        let path = job.get(key).expect(key).str();
        assert!(
            path.starts_with('/') && path.ends_with("/Library/Logs/wa-mcp.log"),
            "{key}: {path}"
        );
    }

    let env = job
        .get("EnvironmentVariables")
        .expect("EnvironmentVariables");
    let Plist::Dict(vars) = env else {
        panic!("EnvironmentVariables must be a dict");
    };
    for secret in [
        "WA_ACCESS_TOKEN",
        "WA_APP_SECRET",
        "WA_WEBHOOK_VERIFY_TOKEN",
        "WA_DEFAULT_PHONE_NUMBER_ID",
    ] {
        let value = env.get(secret).unwrap_or_else(|| panic!("{secret}")).str();
        assert!(
            value.starts_with("REPLACE_WITH_"),
            "{secret} must ship as a placeholder, not a value"
        );
    }
    // Every variable is one wa-mcp reads (the env example documents them all).
    let documented = read(ENV_EXAMPLE);
    for (name, _) in vars {
        assert!(
            documented.contains(&format!("{name}=")),
            "{name} is not a wa-mcp variable"
        );
    }
}

#[test]
fn launchd_backup_runs_nightly_on_the_default_database() {
    let job = load_plist_at(BACKUP_PLIST);
    let label = job.get("Label").expect("Label").str();
    assert_eq!(label, "com.wa-mcp.backup");
    assert!(BACKUP_PLIST.ends_with(&format!("/{label}.plist")));
    let Some(Plist::Array(args)) = job.get("ProgramArguments") else {
        panic!("ProgramArguments must be an array");
    };
    let args: Vec<&str> = args.iter().map(Plist::str).collect();
    let serve = load_plist();
    let Some(Plist::Array(serve_args)) = serve.get("ProgramArguments") else {
        panic!("the serve agent has ProgramArguments");
    };
    assert_eq!(
        args[0],
        serve_args[0].str(),
        "the same binary as the serve agent"
    );
    assert_eq!(
        args[1..],
        [
            "backup",
            "/Users/YOU/.local/share/wa-mcp-backups",
            "--keep",
            "7"
        ]
    );
    let when = job
        .get("StartCalendarInterval")
        .expect("StartCalendarInterval");
    assert!(
        matches!(when.get("Hour"), Some(Plist::Integer(0..=23))),
        "{when:?}"
    );
    assert!(
        matches!(when.get("Minute"), Some(Plist::Integer(0..=59))),
        "{when:?}"
    );
    assert!(
        when.get("Day").is_none() && when.get("Weekday").is_none(),
        "every night"
    );
    assert_eq!(job.get("RunAtLoad"), Some(&Plist::Bool(false)));
    assert!(
        job.get("KeepAlive").is_none(),
        "a job that ends, not a daemon"
    );
    assert!(
        job.get("EnvironmentVariables").is_none(),
        "no secrets: a backup needs none, and the default WA_DB_PATH is the daemon's"
    );
    for key in ["StandardOutPath", "StandardErrorPath"] {
        let path = job.get(key).expect(key).str();
        assert!(
            path.ends_with("/Library/Logs/wa-mcp-backup.log"),
            "{key}: {path}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// cargo-deb
// ---------------------------------------------------------------------------------------------

/// The text of the `[package.metadata.deb]` table: up to the next table header.
fn deb_metadata() -> String {
    let manifest = read("Cargo.toml");
    let start = manifest
        .find("\n[package.metadata.deb]\n")
        .expect("Cargo.toml has a [package.metadata.deb] table");
    let body = &manifest[start + "\n[package.metadata.deb]\n".len()..];
    let end = body.find("\n[").map_or(body.len(), |i| i + 1);
    body[..end].to_owned()
}

/// `key = "value"` at the start of a line of the table.
fn deb_value(meta: &str, key: &str) -> Option<String> {
    meta.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// `["source", "dest", "mode"]` rows of `assets`.
fn deb_assets(meta: &str) -> Vec<[String; 3]> {
    meta.lines()
        .filter_map(|l| {
            let row = l.trim().strip_prefix("[\"")?.strip_suffix("],")?;
            let cols: Vec<String> = row
                .split(',')
                .map(|c| c.trim().trim_matches('"').to_owned())
                .collect();
            assert_eq!(cols.len(), 3, "asset rows are [source, dest, mode]: {l}");
            Some([cols[0].clone(), cols[1].clone(), cols[2].clone()])
        })
        .collect()
}

#[test]
fn deb_metadata_ships_binary_unit_and_env_file() {
    let meta = deb_metadata();
    for key in ["maintainer", "section", "priority", "extended-description"] {
        assert!(deb_value(&meta, key).is_some(), "{key} is set");
    }
    assert_eq!(deb_value(&meta, "depends").as_deref(), Some("$auto"));

    let assets = deb_assets(&meta);
    let has = |src: &str, dest: &str, mode: &str| {
        assets
            .iter()
            .any(|[s, d, m]| s == src && d == dest && m == mode)
    };
    assert!(
        has("target/release/wa-mcp", "usr/bin/", "755"),
        "the binary goes to /usr/bin: {assets:?}"
    );
    assert!(
        has(ENV_EXAMPLE, "etc/wa-mcp/wa-mcp.env", "600"),
        "the env file is a 0600 conffile: {assets:?}"
    );
    assert!(has(ENV_EXAMPLE, "usr/share/doc/wa-mcp/", "644"));
    assert!(has(USER_UNIT, "usr/lib/systemd/user/", "644"));
    for unit in [BACKUP_UNIT, BACKUP_TIMER] {
        assert!(
            has(unit, "usr/lib/systemd/system/", "644"),
            "{unit}: {assets:?}"
        );
    }
    for unit in [USER_BACKUP_UNIT, USER_BACKUP_TIMER] {
        assert!(
            has(unit, "usr/lib/systemd/user/", "644"),
            "{unit}: {assets:?}"
        );
    }
    for [source, _, _] in &assets {
        if !source.starts_with("target/") {
            assert!(root().join(source).is_file(), "asset {source} is missing");
        }
    }

    // cargo-deb takes <maintainer-scripts>/<package>.service as the unit (systemd-units),
    // installs it in usr/lib/systemd/system/ and generates the maintainer scripts.
    let scripts = deb_value(&meta, "maintainer-scripts").expect("maintainer-scripts");
    let unit_in_scripts = root().join(&scripts).join("wa-mcp.service");
    assert_eq!(
        unit_in_scripts.canonicalize().expect("unit exists"),
        root().join(UNIT).canonicalize().expect("unit exists"),
        "the shipped unit is {UNIT}"
    );
    let units = deb_value(&meta, "systemd-units").expect("systemd-units");
    assert!(units.contains("unit-name = \"wa-mcp\""), "{units}");
    assert!(
        units.contains("enable = false"),
        "not enabled before secrets exist"
    );
    // Anything else in the scripts folder would become a maintainer script.
    for entry in std::fs::read_dir(root().join(&scripts)).expect("scripts dir") {
        let entry = entry.expect("entry");
        if entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        assert!(
            name.starts_with("wa-mcp.") || name.ends_with(".md"),
            "unexpected file {name} in {scripts}"
        );
    }
}
