//! The `tether` command: a drop-in for `npx mcp-remote` that Claude Desktop
//! launches as a stdio MCP server. Parsing and exit codes live here; the
//! work is done by the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
