//! `dropcase serve [--port 8765] [--host 127.0.0.1] [--open] [--class FILE]`: the drills in
//! a browser. The flags are checked here (a host other than loopback needs a classroom,
//! whose learners and teacher sign in with tokens); the server itself is `crate::serve`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use clap::Args;

use crate::serve::{self, ClassFile, Config};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one; the address is printed on stderr).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Address to listen on. Anything but loopback (127.0.0.1, ::1) needs --class.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Open the home page in the default browser once listening.
    #[arg(long)]
    pub open: bool,
    /// Serve a classroom: a TOML file naming the cases (scenarios, seeds), the class code
    /// and the time limit. Learners join with a name and the code; the teacher's page has
    /// its own token (printed at start).
    #[arg(long, value_name = "FILE")]
    pub class: Option<PathBuf>,
}

/// The listening address from `--host`: an IP address, or `localhost`.
pub fn parse_host(text: &str) -> anyhow::Result<IpAddr> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    text.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| {
        anyhow::anyhow!(
            "--host '{text}' is not an IP address; use 127.0.0.1 (this machine only) or, with --class, the address of this machine on the LAN (e.g. 0.0.0.0 for every interface)"
        )
    })
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let host = parse_host(&args.host)?;
    let class = match &args.class {
        Some(path) => Some(ClassFile::read(path)?),
        None => None,
    };
    anyhow::ensure!(
        host.is_loopback() || class.is_some(),
        "--host {}: serving beyond this machine needs --class FILE, so that learners and the teacher sign in with a class code and tokens; without --class, keep the default --host 127.0.0.1",
        args.host
    );
    serve::run(Config {
        host,
        port: args.port,
        open: args.open,
        class,
        home: crate::drill::workspace::home(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_and_a_lan_address_needs_a_class() {
        assert!(parse_host("127.0.0.1").unwrap().is_loopback());
        assert!(parse_host("localhost").unwrap().is_loopback());
        assert!(parse_host("[::1]").unwrap().is_loopback());
        assert!(!parse_host("0.0.0.0").unwrap().is_loopback());
        let err = parse_host("my-laptop").unwrap_err().to_string();
        assert!(err.contains("--host 'my-laptop' is not an IP address"), "{err}");
        let err = run(ServeArgs { port: 0, host: "0.0.0.0".into(), open: false, class: None })
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs --class FILE"), "{err}");
    }
}
