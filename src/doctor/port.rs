//! The listen address check: `APP_BIND:APP_HTTP_PORT` is free, or held by a running
//! wa-mcp (its `GET /health` answers `{"status":"ok","version":...}`), or held by
//! something else, which would leave wa-mcp without its webhook listener.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use serde_json::Value;

use super::Check;

/// How long the `/health` probe of whatever holds the port may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// What answered on the port, as far as `/health` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortHolder {
    /// A wa-mcp whose database answers; its version.
    WaMcp(String),
    /// A wa-mcp (or its double) whose database does not answer.
    WaMcpUnhealthy,
    /// Anything else; what it answered.
    Other(String),
}

/// Binds the address for a moment to see whether it is free; when it is taken, asks
/// whatever holds it for `/health`.
pub fn port_check(bind: IpAddr, port: u16) -> Check {
    let name = format!("{bind}:{port}");
    let addr = SocketAddr::new(bind, port);
    match TcpListener::bind(addr) {
        Ok(listener) => {
            drop(listener);
            Check::pass(name, "free: `wa-mcp serve` or `wa-mcp mcp` can listen here")
        }
        Err(e) if e.kind() == ErrorKind::AddrInUse => holder_check(name, bind, port),
        Err(e) => Check::fail(
            name,
            format!("cannot listen here: {e}"),
            "set APP_BIND to an address of this machine (127.0.0.1) and APP_HTTP_PORT to a \
             port above 1023",
        ),
    }
}

fn holder_check(name: String, bind: IpAddr, port: u16) -> Check {
    let ours = env!("CARGO_PKG_VERSION");
    match probe_health(bind, port) {
        PortHolder::WaMcp(version) if version == ours => Check::pass(
            name,
            format!(
                "in use by a running wa-mcp {version} (its webhook listener; `wa-mcp mcp` \
                 then runs stdio-only, and sees that service's messages only if both use the \
                 same WA_DB_PATH: the system service's database is private to it)"
            ),
        ),
        PortHolder::WaMcp(version) => Check::warn(
            name,
            format!("in use by a running wa-mcp {version}, not this binary's {ours}"),
            "restart that service so it runs the upgraded binary",
        ),
        PortHolder::WaMcpUnhealthy => Check::warn(
            name,
            "in use by a running wa-mcp whose database does not answer (503 on /health)",
            "look at that process's log (journalctl -u wa-mcp) and restart it",
        ),
        PortHolder::Other(what) => Check::fail(
            name,
            format!("in use by something that is not wa-mcp ({what})"),
            format!(
                "stop it (`ss -ltnp 'sport = :{port}'` shows which process), or set \
                 APP_HTTP_PORT to a free port and point the tunnel at the new port"
            ),
        ),
    }
}

/// `GET http://<bind>:<port>/health`, read the way a wa-mcp answers it.
pub fn probe_health(bind: IpAddr, port: u16) -> PortHolder {
    let host = if bind.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        bind
    };
    let url = format!("http://{}/health", SocketAddr::new(host, port));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(HEALTH_TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let response = match agent.get(&url).call() {
        Ok(r) => r,
        Err(e) => return PortHolder::Other(format!("no HTTP answer to /health: {e}")),
    };
    let (status, body) = super::webhook::read(response);
    classify_health(status, &body)
}

/// Tells a wa-mcp's `/health` answer from anything else's.
pub fn classify_health(status: u16, body: &str) -> PortHolder {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match (status, json["status"].as_str(), json["version"].as_str()) {
        (200, Some("ok"), Some(version)) => PortHolder::WaMcp(version.to_owned()),
        (503, Some("unavailable"), _) if json.get("database").is_some() => {
            PortHolder::WaMcpUnhealthy
        }
        _ => PortHolder::Other(format!("HTTP {status} to /health")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Outcome;

    #[test]
    fn health_answers_are_told_apart() {
        assert_eq!(
            classify_health(200, r#"{"status":"ok","version":"0.1.0","database":"ok"}"#),
            PortHolder::WaMcp("0.1.0".into())
        );
        assert_eq!(
            classify_health(503, r#"{"status":"unavailable","database":"unreachable"}"#),
            PortHolder::WaMcpUnhealthy
        );
        assert_eq!(
            classify_health(200, "<html>"),
            PortHolder::Other("HTTP 200 to /health".into())
        );
    }

    #[test]
    fn a_port_held_by_another_web_server_fails() {
        use std::io::{Read, Write};
        let held = TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = held.local_addr().expect("addr").port();
        let other = std::thread::spawn(move || {
            let (mut stream, _) = held.accept().expect("the probe connects");
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            );
        });
        let check = port_check(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        other.join().expect("the other server ran");
        assert_eq!(check.outcome, Outcome::Fail, "{check}");
        assert!(check.detail.contains("not wa-mcp"), "{check}");
        assert!(check.remedy.unwrap_or_default().contains("APP_HTTP_PORT"));
    }
}
