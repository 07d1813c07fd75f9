//! The config writers against fixture files shaped like real ones
//! (`tests/fixtures/clients/`), each in a temporary home of its own.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;

const SIDECAR: &str = "/opt/Tether/tether";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../tests/fixtures/clients")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A temporary home, removed when dropped.
struct Home {
    dir: PathBuf,
    platform: Platform,
}

impl Home {
    fn new(test: &str) -> Home {
        let dir = std::env::temp_dir().join(format!("tether-clients-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let platform = Platform::new(Os::Linux, dir.clone(), []);
        Home { dir, platform }
    }

    fn path(&self, id: McpClient) -> PathBuf {
        config_path(id, &self.platform).unwrap()
    }

    /// Puts `text` where `id` reads its config.
    fn put(&self, id: McpClient, text: &str) -> PathBuf {
        let path = self.path(id);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn read(&self, id: McpClient) -> Value {
        jsonc::read(&self.path(id), id.dialect()).unwrap().unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        #[cfg(unix)]
        make_writable(&self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Undoes a test's `chmod` (only Unix tests make directories read-only).
#[cfg(unix)]
fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                make_writable(&p);
            } else {
                let _ = fs::set_permissions(&p, fs::Permissions::from_mode(0o644));
            }
        }
    }
}

fn set_read_only(path: &Path, read_only: bool) {
    let mut perms = fs::metadata(path).unwrap().permissions();
    perms.set_readonly(read_only);
    fs::set_permissions(path, perms).unwrap();
}

#[cfg(unix)]
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // A file we create is owned by our user: uid 0 means root.
    let probe = std::env::temp_dir().join(format!("tether-uid-{}", std::process::id()));
    let _ = fs::write(&probe, "");
    let root = fs::metadata(&probe).map(|m| m.uid() == 0).unwrap_or(false);
    let _ = fs::remove_file(probe);
    root
}

const FIXTURES: &[(McpClient, &str)] = &[
    (McpClient::ClaudeDesktop, "claude_desktop_config.json"),
    (McpClient::ClaudeCode, "claude_code.json"),
    (McpClient::Cursor, "cursor_mcp.json"),
    (McpClient::VsCode, "vscode_mcp.json"),
    (McpClient::Windsurf, "windsurf_mcp_config.json"),
    (McpClient::Zed, "zed_settings.json"),
    (McpClient::Cline, "cline_mcp_settings.json"),
];

#[test]
fn every_client_gains_a_stdio_entry_and_keeps_every_other_key_and_entry() {
    let home = Home::new("every");
    for &(id, file) in FIXTURES {
        let original = fixture(file);
        home.put(id, &original);
        let before = home.read(id);
        let written = install(id, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
        assert_eq!(written, home.path(id));
        let after = home.read(id);
        let mut expected = before.clone();
        let entry = match id.stdio_type() {
            Some(t) => json!({"type": t, "command": SIDECAR, "args": ["run", "linear"]}),
            None => json!({"command": SIDECAR, "args": ["run", "linear"]}),
        };
        expected[id.servers_key()]["linear"] = entry;
        assert_eq!(after, expected, "{id}");
        assert!(has_entry(id, &home.platform, "linear", Path::new(SIDECAR)), "{id}");
        // The text before the servers' end is untouched: formatting and comments stay.
        let text = fs::read_to_string(home.path(id)).unwrap();
        let first_server = before[id.servers_key()]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        let upto = original.find(&format!("\"{first_server}\"")).unwrap();
        assert_eq!(&text[..upto], &original[..upto], "{id}");
        assert_eq!(
            fs::read_to_string(format!("{}{BACKUP_SUFFIX}", home.path(id).display())).unwrap(),
            original,
            "{id}: the backup holds the previous content"
        );
    }
}

#[test]
fn zed_comments_survive_an_install_and_the_uninstall_restores_the_file() {
    let home = Home::new("zed");
    let original = fixture("zed_settings.json");
    home.put(McpClient::Zed, &original);
    install(McpClient::Zed, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    let text = fs::read_to_string(home.path(McpClient::Zed)).unwrap();
    for comment in [
        "// Zed settings",
        "/* The theme follows the OS */",
        "// Searches the web",
        "// not yet",
    ] {
        assert!(text.contains(comment), "{comment} is kept:\n{text}");
    }
    let servers = &home.read(McpClient::Zed)["context_servers"];
    assert_eq!(
        servers["linear"],
        json!({"command": SIDECAR, "args": ["run", "linear"]})
    );
    assert_eq!(servers["brave-search"]["env"]["BRAVE_API_KEY"], "brave-key");
    assert!(uninstall(McpClient::Zed, &home.platform, "linear").unwrap());
    assert_eq!(fs::read_to_string(home.path(McpClient::Zed)).unwrap(), original);
}

#[test]
fn a_wiped_mcp_servers_key_comes_back_with_the_entry() {
    let home = Home::new("wiped");
    home.put(McpClient::ClaudeDesktop, &fixture("claude_desktop_wiped.json"));
    install(McpClient::ClaudeDesktop, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    let doc = home.read(McpClient::ClaudeDesktop);
    assert_eq!(doc["mcpServers"]["linear"]["args"], json!(["run", "linear"]));
    assert_eq!(doc["preferences"]["menuBarEnabled"], false);
    assert_eq!(doc["preferences"]["coworkScheduledTasksEnabled"], false);
}

#[test]
fn a_null_mcp_servers_is_replaced_but_a_string_is_refused() {
    let home = Home::new("null");
    home.put(McpClient::ClaudeDesktop, "{\"mcpServers\": null}\n");
    install(McpClient::ClaudeDesktop, &home.platform, "a", Path::new(SIDECAR)).unwrap();
    assert!(home.read(McpClient::ClaudeDesktop)["mcpServers"]["a"].is_object());
    home.put(McpClient::ClaudeDesktop, "{\"mcpServers\": \"oops\"}\n");
    let e = install(McpClient::ClaudeDesktop, &home.platform, "a", Path::new(SIDECAR)).unwrap_err();
    assert!(matches!(e, ClientsError::Shape { .. }), "{e}");
    assert!(e.to_string().contains("\"mcpServers\" is not an object"), "{e}");
    assert_eq!(
        fs::read_to_string(home.path(McpClient::ClaudeDesktop)).unwrap(),
        "{\"mcpServers\": \"oops\"}\n"
    );
}

#[test]
fn a_name_given_twice_where_tether_edits_is_refused_because_clients_read_the_last() {
    // Found by the `jsonc_edit` fuzz target: Tether edited the first of two
    // "context_servers", Zed reads the second, so the install did nothing.
    let home = Home::new("twice");
    let cases = [
        (
            McpClient::Zed,
            "{\"context_servers\": {}, \"context_servers\": {\"x\": {}}}\n",
        ),
        (
            McpClient::ClaudeDesktop,
            "{\"mcpServers\": {\"a\": {\"command\": \"npx\"}, \"a\": {}}}",
        ),
        (
            McpClient::ClaudeDesktop,
            "{\"mcpServers\": {\"a\": {\"command\": \"/x\", \"args\": [\"run\", \"a\"], \"command\": \"npx\"}}}",
        ),
    ];
    for (id, text) in cases {
        home.put(id, text);
        let e = install(id, &home.platform, "a", Path::new(SIDECAR)).unwrap_err();
        assert!(matches!(e, ClientsError::Shape { .. }), "{e}");
        assert!(e.to_string().contains("only once"), "{e}");
        assert_eq!(fs::read_to_string(home.path(id)).unwrap(), text);
    }
    // Claude Code's HTTP entry too: a second "linear", or a second "url".
    for text in [
        "{\"mcpServers\": {\"linear\": {\"command\": \"npx\"}, \"linear\": {}}}",
        "{\"mcpServers\": {\"linear\": {\"url\": \"https://a.example\", \"url\": \"https://b.example\"}}}",
    ] {
        home.put(McpClient::ClaudeCode, text);
        let e = install_http(
            McpClient::ClaudeCode,
            &home.platform,
            "linear",
            "https://mcp.linear.app/mcp",
            Path::new(SIDECAR),
        )
        .unwrap_err();
        assert!(e.to_string().contains("only once"), "{e}");
        assert_eq!(fs::read_to_string(home.path(McpClient::ClaudeCode)).unwrap(), text);
    }
    let text = "{\"mcpServers\": {\"a\": {\"command\": \"/x\", \"args\": [\"run\", \"a\"]}, \"a\": {}}}";
    home.put(McpClient::ClaudeDesktop, text);
    assert!(uninstall(McpClient::ClaudeDesktop, &home.platform, "a").is_err());
    assert_eq!(fs::read_to_string(home.path(McpClient::ClaudeDesktop)).unwrap(), text);
    // Names repeated elsewhere in the file are none of Tether's business.
    home.put(
        McpClient::Zed,
        "{\"theme\": 1, \"theme\": 2, \"context_servers\": {\"b\": {}, \"b\": {}}}",
    );
    install(McpClient::Zed, &home.platform, "a", Path::new(SIDECAR)).unwrap();
    assert!(home.read(McpClient::Zed)["context_servers"]["a"].is_object());
}

#[test]
fn a_malformed_file_is_never_overwritten() {
    let home = Home::new("malformed");
    let bad = fixture("claude_desktop_malformed.json");
    let path = home.put(McpClient::ClaudeDesktop, &bad);
    let e = install(McpClient::ClaudeDesktop, &home.platform, "linear", Path::new(SIDECAR)).unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, ClientsError::Malformed { line: 5, .. }), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("line 5"), "{message}");
    assert_eq!(fs::read_to_string(&path).unwrap(), bad);
    assert!(!Path::new(&format!("{}{BACKUP_SUFFIX}", path.display())).exists());
    assert!(!has_entry(
        McpClient::ClaudeDesktop,
        &home.platform,
        "linear",
        Path::new(SIDECAR)
    ));
    assert!(uninstall(McpClient::ClaudeDesktop, &home.platform, "linear").is_err());
    assert_eq!(fs::read_to_string(&path).unwrap(), bad);
}

#[test]
fn comments_in_a_strict_json_file_count_as_malformed() {
    let home = Home::new("strict");
    let text = "{\n  // Claude Desktop's parser refuses this\n  \"mcpServers\": {}\n}\n";
    home.put(McpClient::ClaudeDesktop, text);
    let e = install(McpClient::ClaudeDesktop, &home.platform, "a", Path::new(SIDECAR)).unwrap_err();
    assert!(matches!(e, ClientsError::Malformed { line: 2, .. }), "{e}");
    assert_eq!(fs::read_to_string(home.path(McpClient::ClaudeDesktop)).unwrap(), text);
}

#[test]
fn a_missing_file_and_its_directory_are_created() {
    let home = Home::new("missing");
    assert!(!is_installed(McpClient::ClaudeDesktop, &home.platform));
    let path = install(McpClient::ClaudeDesktop, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    assert_eq!(path, home.dir.join(".config/Claude/claude_desktop_config.json"));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!(
            "{{\n  \"mcpServers\": {{\n    \"linear\": {{\n      \"command\": \"{SIDECAR}\",\n      \"args\": [\"run\", \"linear\"]\n    }}\n  }}\n}}\n"
        )
    );
    assert!(is_installed(McpClient::ClaudeDesktop, &home.platform));
    assert!(!Path::new(&format!("{}{BACKUP_SUFFIX}", path.display())).exists());
}

#[test]
fn a_read_only_file_is_refused_and_left_untouched() {
    let home = Home::new("readonly");
    let original = fixture("claude_desktop_config.json");
    let path = home.put(McpClient::ClaudeDesktop, &original);
    set_read_only(&path, true);
    // Refused by Tether itself, so even root (whom the OS would let write) gets the error.
    let e = install(McpClient::ClaudeDesktop, &home.platform, "linear", Path::new(SIDECAR)).unwrap_err();
    assert!(matches!(e, ClientsError::ReadOnly { .. }), "{e}");
    assert!(e.to_string().contains("is read-only"), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
    assert!(fs::metadata(&path).unwrap().permissions().readonly());
    set_read_only(&path, false);
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_gives_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new("readonly-dir");
    let dir = home.path(McpClient::ClaudeDesktop).parent().unwrap().to_path_buf();
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    let result = install(McpClient::ClaudeDesktop, &home.platform, "linear", Path::new(SIDECAR));
    if is_root() {
        // Root writes into a read-only directory: nothing to assert but success.
        assert!(result.is_ok());
    } else {
        let e = result.unwrap_err();
        assert!(matches!(e, ClientsError::Write { .. }), "{e}");
        assert!(e.to_string().contains("claude_desktop_config.json"), "{e}");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "no temporary file is left");
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn installing_twice_writes_once() {
    let home = Home::new("twice");
    let path = home.put(McpClient::Cursor, &fixture("cursor_mcp.json"));
    install(McpClient::Cursor, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    let backup = PathBuf::from(format!("{}{BACKUP_SUFFIX}", path.display()));
    fs::remove_file(&backup).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    install(McpClient::Cursor, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    assert!(!backup.exists(), "nothing changed, nothing was written");
    assert_eq!(
        fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1,
        "no temporary file is left"
    );
}

#[test]
fn an_existing_entry_of_that_name_is_updated_in_place_keeping_its_other_keys() {
    let home = Home::new("update");
    home.put(McpClient::Cline, &fixture("cline_mcp_settings.json"));
    install(McpClient::Cline, &home.platform, "remote-docs", Path::new(SIDECAR)).unwrap();
    let entry = &home.read(McpClient::Cline)["mcpServers"]["remote-docs"];
    assert_eq!(
        *entry,
        json!({"disabled": true, "timeout": 60, "command": SIDECAR, "args": ["run", "remote-docs"]}),
        "the remote keys go, disabled and timeout stay"
    );
}

#[test]
fn claude_desktop_on_windows_msix_is_written_where_the_packaged_app_reads() {
    let home = Home::new("msix");
    let env = [
        (
            "APPDATA".to_owned(),
            home.dir.join("AppData/Roaming").display().to_string(),
        ),
        (
            "LOCALAPPDATA".to_owned(),
            home.dir.join("AppData/Local").display().to_string(),
        ),
    ];
    let windows = Platform::new(Os::Windows, home.dir.clone(), env);
    let classic = home.dir.join("AppData/Roaming/Claude/claude_desktop_config.json");
    assert_eq!(config_path(McpClient::ClaudeDesktop, &windows), Some(classic.clone()));
    assert!(!is_installed(McpClient::ClaudeDesktop, &windows));
    fs::create_dir_all(home.dir.join("AppData/Local/Packages/Claude_pzs8sxrjxfjjc")).unwrap();
    assert!(is_installed(McpClient::ClaudeDesktop, &windows));
    let written = install(McpClient::ClaudeDesktop, &windows, "linear", Path::new(SIDECAR)).unwrap();
    assert_eq!(
        written,
        home.dir
            .join("AppData/Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json")
    );
    assert!(
        !classic.exists(),
        "the classic path, which the packaged app ignores, is not written"
    );
    assert!(has_entry(
        McpClient::ClaudeDesktop,
        &windows,
        "linear",
        Path::new(SIDECAR)
    ));
}

#[test]
fn uninstall_removes_only_tethers_own_entry() {
    let home = Home::new("uninstall");
    let original = fixture("claude_desktop_config.json");
    let path = home.put(McpClient::ClaudeDesktop, &original);
    install(McpClient::ClaudeDesktop, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    assert_eq!(tether_entries(McpClient::ClaudeDesktop, &home.platform), ["linear"]);
    assert!(uninstall(McpClient::ClaudeDesktop, &home.platform, "linear").unwrap());
    assert_eq!(fs::read_to_string(&path).unwrap(), original, "the file is as it was");
    assert!(!uninstall(McpClient::ClaudeDesktop, &home.platform, "linear").unwrap());
    let e = uninstall(McpClient::ClaudeDesktop, &home.platform, "github").unwrap_err();
    assert!(matches!(e, ClientsError::NotTether { .. }), "{e}");
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
    assert!(
        !uninstall(McpClient::Cursor, &home.platform, "linear").unwrap(),
        "no file, nothing to remove"
    );
    assert!(!home.path(McpClient::Cursor).exists());
}

#[test]
fn one_read_lists_the_entries_that_run_this_tether_and_no_others() {
    let home = Home::new("entries");
    install(McpClient::ClaudeDesktop, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    install(McpClient::ClaudeDesktop, &home.platform, "github", Path::new(SIDECAR)).unwrap();
    install(
        McpClient::ClaudeDesktop,
        &home.platform,
        "old",
        Path::new("/other/tether"),
    )
    .unwrap();
    let names = entries_running(McpClient::ClaudeDesktop, &home.platform, Path::new(SIDECAR));
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["github", "linear"]);
    assert!(entries_running(McpClient::Cursor, &home.platform, Path::new(SIDECAR)).is_empty());
}

#[test]
fn has_entry_needs_the_same_program_and_server() {
    let home = Home::new("has");
    install(McpClient::VsCode, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    assert!(has_entry(
        McpClient::VsCode,
        &home.platform,
        "linear",
        Path::new(SIDECAR)
    ));
    assert!(!has_entry(
        McpClient::VsCode,
        &home.platform,
        "linear",
        Path::new("/other/tether")
    ));
    assert!(!has_entry(
        McpClient::VsCode,
        &home.platform,
        "github",
        Path::new(SIDECAR)
    ));
    assert!(!has_entry(McpClient::Zed, &home.platform, "linear", Path::new(SIDECAR)));
    // Zed's older shape counts too.
    home.put(
        McpClient::Zed,
        &format!("{{\"context_servers\": {{\"linear\": {{\"command\": {{\"path\": \"{SIDECAR}\", \"args\": [\"run\", \"linear\"]}}}}}}}}"),
    );
    assert!(has_entry(McpClient::Zed, &home.platform, "linear", Path::new(SIDECAR)));
}

#[test]
fn a_bad_name_or_a_relative_program_is_refused_before_any_write() {
    let home = Home::new("bad");
    let e = install(McpClient::ClaudeDesktop, &home.platform, "../x", Path::new(SIDECAR)).unwrap_err();
    assert!(matches!(e, ClientsError::BadName(_)), "{e}");
    let e = install(McpClient::ClaudeDesktop, &home.platform, "x", Path::new("tether")).unwrap_err();
    assert!(matches!(e, ClientsError::BadCommand(_)), "{e}");
    assert!(!home.path(McpClient::ClaudeDesktop).exists());
}

#[test]
fn client_ids_read_and_print_as_the_app_uses_them() {
    for &id in McpClient::ALL {
        assert_eq!(McpClient::from_id(id.id()), Some(id));
        assert_eq!(serde_json::to_value(id).unwrap(), json!(id.id()));
    }
    assert_eq!(McpClient::from_id("vscode"), Some(McpClient::VsCode));
    assert_eq!(McpClient::VsCode.name(), "VS Code");
    assert_eq!(McpClient::from_id("emacs"), None);
}

#[test]
fn mcp_remote_entries_are_found_in_every_client_and_malformed_files_reported() {
    let home = Home::new("scan");
    home.put(McpClient::ClaudeDesktop, &fixture("claude_desktop_mcp_remote.json"));
    home.put(
        McpClient::Zed,
        "{\n  // mine\n  \"context_servers\": {\n    \"docs\": {\"command\": \"npx\", \"args\": [\"-y\", \"mcp-remote\", \"https://docs.example.com/mcp\"]},\n  },\n}\n",
    );
    home.put(McpClient::Cursor, &fixture("claude_desktop_malformed.json"));
    let found = scan(&home.platform);
    let mut names: Vec<(McpClient, &str)> = found.candidates.iter().map(|c| (c.client, c.name.as_str())).collect();
    names.sort();
    assert_eq!(
        names,
        [
            (McpClient::ClaudeDesktop, "corp"),
            (McpClient::ClaudeDesktop, "linear"),
            (McpClient::Zed, "docs")
        ]
    );
    assert_eq!(found.problems.len(), 1);
    assert!(matches!(found.problems[0], ClientsError::Malformed { .. }));
    assert_eq!(find_mcp_remote(&home.platform).len(), 3);
}

#[test]
fn an_imported_entry_becomes_tethers_and_its_token_leaves_every_file() {
    let home = Home::new("convert");
    let path = home.put(McpClient::ClaudeDesktop, &fixture("claude_desktop_mcp_remote.json"));
    let corp = find_mcp_remote(&home.platform)
        .into_iter()
        .find(|c| c.name == "corp")
        .unwrap();
    assert_eq!(corp.token.as_ref().map(|t| t.expose()), Some("corp-token-5f2a9c"));
    assert_eq!(corp.secret_env, ["AUTH_HEADER"]);
    let written = convert(&corp, Path::new(SIDECAR)).unwrap();
    assert_eq!(written, path);
    let doc = home.read(McpClient::ClaudeDesktop);
    assert_eq!(
        doc["mcpServers"]["corp"],
        json!({"command": SIDECAR, "args": ["run", "corp"], "env": {"NODE_OPTIONS": "--max-old-space-size=512"}})
    );
    assert_eq!(doc["mcpServers"]["linear"]["args"][1], "mcp-remote");
    assert_eq!(doc["mcpServers"]["filesystem"]["command"], "npx");
    assert_eq!(doc["preferences"]["sidebarMode"], "chat");
    for entry in fs::read_dir(path.parent().unwrap()).unwrap() {
        let text = fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("corp-token-5f2a9c"), "{text}");
    }
    assert_eq!(
        scan(&home.platform).candidates.len(),
        1,
        "only linear is left to import"
    );
}

#[test]
fn an_imported_entry_with_an_unusable_name_is_renamed_in_place() {
    let home = Home::new("rename");
    home.put(
        McpClient::Windsurf,
        "{\"mcpServers\": {\"a\": {\"command\": \"x\"}, \"My Docs\": {\"command\": \"npx\", \"args\": [\"mcp-remote\", \"https://d.example/mcp\"], \"disabled\": false}, \"z\": {\"command\": \"y\"}}}",
    );
    let c = find_mcp_remote(&home.platform).pop().unwrap();
    assert_eq!(c.server, "My-Docs");
    convert(&c, Path::new(SIDECAR)).unwrap();
    let text = fs::read_to_string(home.path(McpClient::Windsurf)).unwrap();
    assert_eq!(
        text,
        format!(
            "{{\"mcpServers\": {{\"a\": {{\"command\": \"x\"}}, \"My-Docs\": {{\"command\": \"{SIDECAR}\", \"args\": [\"run\", \"My-Docs\"], \"disabled\": false}}, \"z\": {{\"command\": \"y\"}}}}}}"
        )
    );
    assert!(has_entry(
        McpClient::Windsurf,
        &home.platform,
        "My-Docs",
        Path::new(SIDECAR)
    ));
}

#[test]
fn claude_code_gets_an_http_entry_whose_headers_helper_is_tether_token() {
    let home = Home::new("http-entry");
    home.put(McpClient::ClaudeCode, &fixture("claude_code.json"));
    let path = install_http(
        McpClient::ClaudeCode,
        &home.platform,
        "linear",
        "https://mcp.linear.app/mcp",
        Path::new(SIDECAR),
    )
    .unwrap();
    assert_eq!(path, home.path(McpClient::ClaudeCode));
    let doc = home.read(McpClient::ClaudeCode);
    assert_eq!(
        doc["mcpServers"]["linear"],
        json!({
            "type": "http",
            "url": "https://mcp.linear.app/mcp",
            "headersHelper": "/opt/Tether/tether token linear --header=json"
        })
    );
    // Everything else in the 100 kB state file stays.
    assert_eq!(doc["numStartups"], 42);
    assert_eq!(doc["mcpServers"]["sentry"]["url"], "https://mcp.sentry.dev/mcp");
    assert!(
        doc["projects"]["/home/ann/src/app"]["hasTrustDialogAccepted"]
            .as_bool()
            .unwrap()
    );
    // It is Tether's own entry: found, listed as HTTP, and removable.
    assert!(has_entry(
        McpClient::ClaudeCode,
        &home.platform,
        "linear",
        Path::new(SIDECAR)
    ));
    let kinds = entry_kinds_running(McpClient::ClaudeCode, &home.platform, Path::new(SIDECAR));
    assert_eq!(kinds.get("linear"), Some(&EntryKind::Http));
    assert!(uninstall(McpClient::ClaudeCode, &home.platform, "linear").unwrap());
    assert!(home.read(McpClient::ClaudeCode)["mcpServers"].get("linear").is_none());
}

#[test]
fn switching_an_entry_between_stdio_and_http_leaves_none_of_the_other_kind_s_keys() {
    let home = Home::new("http-switch");
    install(McpClient::ClaudeCode, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    install_http(
        McpClient::ClaudeCode,
        &home.platform,
        "linear",
        "https://mcp.linear.app/mcp",
        Path::new(SIDECAR),
    )
    .unwrap();
    let entry = home.read(McpClient::ClaudeCode)["mcpServers"]["linear"].clone();
    assert!(entry.get("command").is_none() && entry.get("args").is_none(), "{entry}");
    assert_eq!(entry["type"], "http");
    install(McpClient::ClaudeCode, &home.platform, "linear", Path::new(SIDECAR)).unwrap();
    let entry = home.read(McpClient::ClaudeCode)["mcpServers"]["linear"].clone();
    assert_eq!(
        entry,
        json!({"type": "stdio", "command": SIDECAR, "args": ["run", "linear"]})
    );
    let kinds = entry_kinds_running(McpClient::ClaudeCode, &home.platform, Path::new(SIDECAR));
    assert_eq!(kinds.get("linear"), Some(&EntryKind::Stdio));
}

#[test]
fn clients_without_a_headers_hook_are_refused_an_http_entry_and_their_file_is_untouched() {
    let home = Home::new("http-refused");
    for id in McpClient::ALL.iter().copied().filter(|c| !c.headers_hook()) {
        let e = install_http(
            id,
            &home.platform,
            "linear",
            "https://x.example/mcp",
            Path::new(SIDECAR),
        )
        .unwrap_err();
        assert!(matches!(e, ClientsError::NoHeadersHook(c) if c == id), "{e}");
        assert!(
            e.to_string().contains("cannot run a program for a server's headers"),
            "{e}"
        );
        assert!(!home.path(id).exists(), "{id}: nothing written");
    }
    assert_eq!(
        McpClient::ALL.iter().filter(|c| c.headers_hook()).collect::<Vec<_>>(),
        [&McpClient::ClaudeCode]
    );
}

#[test]
fn a_headers_helper_quotes_a_program_path_for_the_shell_and_reads_back() {
    for (os, program, want) in [
        (
            Os::Linux,
            "/opt/Tether/tether",
            "/opt/Tether/tether token s --header=json",
        ),
        (
            Os::MacOs,
            "/Applications/My Apps/Tether.app/Contents/MacOS/tether",
            "'/Applications/My Apps/Tether.app/Contents/MacOS/tether' token s --header=json",
        ),
        (
            Os::Linux,
            "/home/o'neil/tether",
            "'/home/o'\\''neil/tether' token s --header=json",
        ),
        (
            Os::Windows,
            r"C:\Users\Ann\AppData\Local\Tether\tether.exe",
            r"C:\Users\Ann\AppData\Local\Tether\tether.exe token s --header=json",
        ),
        (
            Os::Windows,
            r"C:\Program Files\Tether\tether.exe",
            r#""C:\Program Files\Tether\tether.exe" token s --header=json"#,
        ),
        (
            Os::Linux,
            r"/tmp/back\slash/tether",
            r"'/tmp/back\slash/tether' token s --header=json",
        ),
    ] {
        let helper = headers_helper(os, program, "s");
        assert_eq!(helper, want, "{os:?} {program}");
        assert_eq!(
            parse_headers_helper(&helper),
            Some((program.to_owned(), "s".to_owned())),
            "{helper}"
        );
    }
    assert_eq!(parse_headers_helper("/usr/bin/get-token.sh"), None, "not Tether's");
    assert_eq!(parse_headers_helper("/opt/tether run s"), None);
}

#[test]
fn backups_older_than_thirty_days_go_when_tether_next_edits_a_config() {
    let h = Home::new("expire");
    let day = std::time::Duration::from_secs(86_400);
    let age = |path: &Path, days: u64| {
        let when = std::time::SystemTime::now() - day * days as u32;
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    };
    // Cursor's config was edited 40 days ago, VS Code's 10 days ago.
    let cursor = h.put(McpClient::Cursor, "{}");
    let old = PathBuf::from(format!("{}{BACKUP_SUFFIX}", cursor.display()));
    fs::write(&old, r#"{"mcpServers": {"x": {"env": {"KEY": "rotated-long-ago"}}}}"#).unwrap();
    age(&old, 40);
    let vscode = h.put(McpClient::VsCode, "{}");
    let recent = PathBuf::from(format!("{}{BACKUP_SUFFIX}", vscode.display()));
    fs::write(&recent, "{}").unwrap();
    age(&recent, 10);

    install(McpClient::ClaudeDesktop, &h.platform, "linear", Path::new(SIDECAR)).unwrap();
    assert!(!old.exists(), "a 40-day-old backup is deleted");
    assert!(recent.exists(), "a 10-day-old one is kept");
    assert!(cursor.exists() && vscode.exists(), "the configs themselves stay");

    age(&recent, 31);
    assert_eq!(expire_backups(&h.platform, BACKUP_MAX_AGE), vec![recent.clone()]);
    let claude_backup = PathBuf::from(format!("{}{BACKUP_SUFFIX}", h.path(McpClient::ClaudeDesktop).display()));
    uninstall(McpClient::ClaudeDesktop, &h.platform, "linear").unwrap();
    assert!(claude_backup.exists(), "the backup just written stays");
}
