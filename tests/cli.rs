//! The CLI surface and the documentation that describes it: the README's
//! table of `bsdx check` codes is the code list.

use crate::support::*;

/// The README's table of codes lists exactly `Code::ALL`.
#[test]
fn readme_table_lists_every_check_code() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("## bsdx check")
        .nth(1)
        .expect("README has a bsdx check section");
    let listed: Vec<String> = section
        .lines()
        .skip_while(|l| !l.starts_with("| code |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|row| {
            row.split('|')
                .nth(1)
                .unwrap_or("")
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|c| c.trim().trim_matches('`').to_string())
        .collect();
    let mut all: Vec<String> = bsdx::check::Code::ALL
        .iter()
        .map(|c| c.to_string())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    all.sort();
    assert_eq!(sorted, all, "README's code table vs bsdx::check::Code::ALL");
    for c in bsdx::check::Code::ALL {
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            c.as_str(),
            "--json spells codes as the README does"
        );
    }
}
