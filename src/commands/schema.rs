use anyhow::Result;

use super::*;
use crate::cli::{SchemaArgs, SchemaName};

/// The JSON Schema of one command's `--json` output, generated from the
/// type it prints.
pub fn schema_of(name: SchemaName) -> schemars::Schema {
    use schemars::schema_for;
    match name {
        SchemaName::Env => schema_for!(crate::env::CrossEnv),
        SchemaName::Build => schema_for!(crate::build::Built),
        SchemaName::Repro => schema_for!(crate::repro::Report),
        SchemaName::Stubs => schema_for!(crate::stubs::Manifest),
        SchemaName::StubsList => schema_for!(crate::stubs::Available),
        SchemaName::New => schema_for!(crate::new::Created),
        SchemaName::Doctor => schema_for!(crate::doctor::Report),
        SchemaName::Check => schema_for!(crate::check::Report),
        SchemaName::Brand => schema_for!(crate::abitag::BrandReport),
        SchemaName::Test => schema_for!(crate::test_summary::Summary),
        SchemaName::SysrootFetch => schema_for!(crate::sysroot::Fetched),
        SchemaName::SysrootExtract => schema_for!(crate::sysroot::Extracted),
        SchemaName::Package => schema_for!(crate::package::Packaged),
        SchemaName::PackageInspect => schema_for!(crate::package::inspect::Inspection),
        SchemaName::Rcd => schema_for!(crate::rcd::Generated),
        SchemaName::RcdLint => schema_for!(crate::rcd::Report),
        SchemaName::Run => schema_for!(crate::vm::Report),
    }
}

pub fn execute(a: SchemaArgs) -> Result<i32> {
    use clap::ValueEnum;
    match a.command {
        Some(name) => print_json(&schema_of(name))?,
        None => {
            let all: serde_json::Map<String, serde_json::Value> = SchemaName::value_variants()
                .iter()
                .map(|n| {
                    let key = n
                        .to_possible_value()
                        .expect("not skipped")
                        .get_name()
                        .to_string();
                    (
                        key,
                        serde_json::to_value(schema_of(*n)).expect("a schema is JSON"),
                    )
                })
                .collect();
            print_json(&all)?;
        }
    }
    Ok(exit::OK)
}
