//! [`Profile`]: what a name or a URL on the command line resolves to, and the
//! bridge settings built from it.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::HeaderValue;

use super::{Profile, RunSettings};
use crate::config::{ConfigError, TransportMode};
use crate::logging::LogLevel;
use crate::paths::Paths;
use crate::servers::{ServerConfig, Servers, ServersError, ServersFile, Settings, key_for_url};
use crate::test_support::TempDir;

fn paths(dir: &TempDir) -> Paths {
    Paths {
        config: dir.path().join("config"),
        state: dir.path().join("state"),
        logs: dir.path().join("logs"),
        namespace: None,
    }
}

fn with_servers(dir: &TempDir, servers: &[(&str, ServerConfig)], settings: Settings) -> Paths {
    let p = paths(dir);
    let file = ServersFile {
        servers: servers
            .iter()
            .map(|(n, c)| ((*n).to_owned(), c.clone()))
            .collect::<BTreeMap<_, _>>(),
        settings,
    };
    Servers::new(&p.config).save(&file).unwrap();
    p
}

fn run_settings() -> RunSettings {
    RunSettings {
        headers: Vec::new(),
        header_file: None,
        transport: None,
        protocol: crate::config::ProtocolMode::Auto,
        allow_http: false,
        max_message_size: 1000,
        request_timeout: Duration::from_secs(7),
        connect_timeout: Duration::from_secs(3),
        sign_in_wait: Duration::from_secs(11),
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn a_url_resolves_to_an_unnamed_profile_keyed_by_its_host_and_a_hash() {
    let dir = TempDir::new("profile");
    let settings = Settings {
        log_level: Some(LogLevel::Debug),
        ..Default::default()
    };
    let p = with_servers(&dir, &[], settings.clone());
    let url = "https://mcp.example.com:8443/mcp?team=1";
    let profile = Profile::resolve(url, &p).unwrap();
    assert!(!profile.named);
    assert_eq!(profile.url.as_str(), url);
    assert_eq!(profile.key, key_for_url(&profile.url));
    assert!(profile.key.starts_with("url-mcp.example.com-8443-"), "{}", profile.key);
    assert_eq!(profile.label, "mcp.example.com");
    assert_eq!(profile.config.url, url);
    assert_eq!(profile.settings, settings, "the global settings still apply");
    assert_ne!(
        Profile::resolve("https://other.example/mcp", &p).unwrap().key,
        profile.key,
        "another URL, another key"
    );
}

#[test]
fn a_name_resolves_to_the_server_of_that_name_in_the_list() {
    let dir = TempDir::new("profile");
    let linear = ServerConfig {
        url: "https://mcp.linear.app/mcp".into(),
        scopes: Some("read".into()),
        ..Default::default()
    };
    let p = with_servers(&dir, &[("linear", linear.clone())], Settings::default());
    let profile = Profile::resolve("linear", &p).unwrap();
    assert!(profile.named);
    assert_eq!(profile.key, "linear");
    assert_eq!(profile.label, "linear");
    assert_eq!(profile.url.as_str(), "https://mcp.linear.app/mcp");
    assert_eq!(profile.config, linear);
    assert_eq!(profile.state().server("linear").unwrap(), Default::default());

    assert!(matches!(
        Profile::resolve("github", &p),
        Err(ServersError::Unknown(n)) if n == "github"
    ));
    assert!(matches!(Profile::resolve("../etc", &p), Err(ServersError::BadName(_))));
}

#[test]
fn run_config_merges_headers_in_the_documented_order() {
    let dir = TempDir::new("profile");
    let server = ServerConfig {
        url: "https://mcp.example.com/mcp".into(),
        headers: vec!["X-Order: settings".into(), "X-Team: ${TEAM}".into()],
        transport: Some(TransportMode::SseFirst),
        ..Default::default()
    };
    let p = with_servers(&dir, &[("corp", server)], Settings::default());
    let header_file = dir.path().join("headers.txt");
    std::fs::write(&header_file, "# comment\nX-Order: file\n\nX-File: ${TEAM}-f\n").unwrap();
    let profile = Profile::resolve("corp", &p).unwrap();
    let run = RunSettings {
        headers: vec!["X-Order: command line".into(), "Authorization:Bearer ${TOKEN}".into()],
        header_file: Some(header_file.to_string_lossy().into_owned()),
        ..run_settings()
    };
    let env = |var: &str| match var {
        "TEAM" => Some("blue".to_owned()),
        "TOKEN" => Some("s3cret".to_owned()),
        _ => None,
    };
    let config = profile.run_config(&run, &env).unwrap();
    let headers: Vec<(String, &HeaderValue)> = config.headers.iter().map(|(n, v)| (n.as_str().to_owned(), v)).collect();
    let expect = [
        ("x-order", "settings"),
        ("x-team", "blue"),
        ("x-order", "file"),
        ("x-file", "blue-f"),
        ("x-order", "command line"),
        ("authorization", "Bearer s3cret"),
    ];
    assert_eq!(headers.len(), expect.len(), "{headers:?}");
    for ((name, value), (want_name, want_value)) in headers.iter().zip(expect) {
        assert_eq!((name.as_str(), value.to_str().unwrap()), (want_name, want_value));
        assert!(value.is_sensitive(), "header values never print");
    }
    assert_eq!(config.transport, TransportMode::SseFirst, "the server's transport");
    assert_eq!(config.request_timeout, Duration::from_secs(7));
    assert_eq!(config.sign_in_wait, Duration::from_secs(11));
    assert_eq!(config.max_message_size, 1000);

    let run = RunSettings {
        transport: Some(TransportMode::HttpOnly),
        ..run_settings()
    };
    assert_eq!(
        profile.run_config(&run, &env).unwrap().transport,
        TransportMode::HttpOnly,
        "the command line's transport wins"
    );
    let missing = profile.run_config(&run_settings(), &no_env).unwrap_err();
    assert_eq!(missing, ConfigError::MissingVariable("X-Team".into(), "TEAM".into()));
}

#[test]
fn run_config_refuses_plain_http_to_another_host_unless_allowed() {
    let dir = TempDir::new("profile");
    let p = with_servers(
        &dir,
        &[(
            "lan",
            ServerConfig {
                url: "http://lan.example/mcp".into(),
                allow_http: true,
                ..Default::default()
            },
        )],
        Settings::default(),
    );
    let remote = Profile::resolve("http://mcp.example.com/mcp", &p).unwrap();
    assert!(matches!(
        remote.run_config(&run_settings(), &no_env),
        Err(ConfigError::PlainHttp(_))
    ));
    let allowed = RunSettings {
        allow_http: true,
        ..run_settings()
    };
    assert!(remote.run_config(&allowed, &no_env).is_ok(), "--allow-http");
    let lan = Profile::resolve("lan", &p).unwrap();
    assert!(
        lan.run_config(&run_settings(), &no_env).is_ok(),
        "a server added with allow_http"
    );
    let local = Profile::resolve("http://127.0.0.1:3000/mcp", &p).unwrap();
    assert!(
        local.run_config(&run_settings(), &no_env).is_ok(),
        "plain http to this computer"
    );
}

#[test]
fn log_files_are_named_after_the_server_or_its_host() {
    let dir = TempDir::new("profile");
    let p = with_servers(
        &dir,
        &[(
            "linear",
            ServerConfig {
                url: "https://mcp.linear.app/mcp".into(),
                ..Default::default()
            },
        )],
        Settings::default(),
    );
    assert_eq!(
        Profile::resolve("linear", &p).unwrap().log_file(),
        p.logs.join("linear.log")
    );
    assert_eq!(
        Profile::resolve("https://mcp.linear.app/mcp", &p).unwrap().log_file(),
        p.logs.join("run-mcp.linear.app.log")
    );
    assert_eq!(
        Profile::resolve("http://127.0.0.1:8080/mcp", &p).unwrap().log_file(),
        p.logs.join("run-127.0.0.1_8080.log")
    );
}

#[test]
fn the_log_level_is_debug_when_asked_else_the_apps_setting() {
    let dir = TempDir::new("profile");
    let set = with_servers(
        &dir,
        &[],
        Settings {
            log_level: Some(LogLevel::Debug),
            ..Default::default()
        },
    );
    let profile = Profile::resolve("https://mcp.example.com/mcp", &set).unwrap();
    assert_eq!(profile.log_level(false), LogLevel::Debug, "the app's setting");
    let other = TempDir::new("profile");
    let plain = Profile::resolve("https://mcp.example.com/mcp", &paths(&other)).unwrap();
    assert_eq!(plain.log_level(false), LogLevel::Info, "nothing set");
    assert_eq!(plain.log_level(true), LogLevel::Debug, "--debug");
}
