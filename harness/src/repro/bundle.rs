//! Many reproducers as one program, for the differential check and for runtimes: the fixed prelude and
//! runtime once, then each case's own part (its expectations, `run_case`, `judge` and
//! `main`) with its top-level names given a per-case prefix, and a `main` that runs the
//! case named by its one argument (`--list` names them all). A process runs one case, as
//! a standalone file does, and prints the same lines: the runtime's text and each case's
//! text are the file's. `repro --all --bundle` writes them for a runtime whose binaries
//! must be few and small (a VM's initramfs or disk: one static glibc binary per case
//! would be most of a gigabyte).
//!
//! Why: a standalone file costs the compiler its 1,600-line runtime and the system
//! headers each time (0.2 s at -O1 here, 994 files about 110 s on 2 cores); a bundle pays
//! that once. `repro --check --standalone` still compiles and runs every file alone.

use super::emit::{PRELUDE, Pieces};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Cases per bundle: enough that the runtime's cost is shared, few enough that the
/// bundles keep every CPU busy and a bundle that does not build names few cases.
pub const PER_BUNDLE: usize = 64;

/// How a bundle's file name starts: how a runner tells a bundle (`--list` it) from a
/// one-case reproducer.
pub const PREFIX: &str = "bundle-";

/// The file name of the bundle that starts with the `n`th applicable case.
pub fn file_stem(n: usize) -> String {
    format!("{PREFIX}{n:04}")
}

/// The C identifiers a case part defines at file scope: `static uintptr_t a, b;`,
/// `static const struct expect want_0 = ...`, `static void run_case(void)`,
/// `static int judge(void)` and `int main(void)` (the forms the emitter writes).
pub fn top_level_names(part: &str) -> Vec<String> {
    let mut names = BTreeSet::new();
    for line in part.lines() {
        let decl = if let Some(rest) = line.strip_prefix("static ") {
            rest
        } else if line.starts_with("int main(") {
            "int main("
        } else {
            continue;
        };
        // The declarators end at `=`, `(` or `;`; before that, the last word of each
        // comma-separated declarator is its name.
        let end = decl.find(['=', '(', ';', '[']).unwrap_or(decl.len());
        for d in decl[..end].split(',') {
            if let Some(name) = d.split_whitespace().last() {
                let name = name.trim_start_matches('*');
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    names.insert(name.to_string());
                }
            }
        }
    }
    names.into_iter().collect()
}

/// One program holding `cases` (id and pieces, all for one OS): run it as `PROGRAM ID`;
/// `PROGRAM --list` prints the ids it holds.
pub fn source(cases: &[(&str, &Pieces)]) -> String {
    let mut out = String::new();
    out.push_str("/* mmapconf repro --check: reproducers bundled around one runtime. */\n");
    out.push_str(PRELUDE);
    let steps = cases.iter().map(|(_, p)| p.max_steps).max().unwrap_or(1);
    let _ = writeln!(out, "#define REPRO_MAX_STEPS {steps}");
    // Every case's name guards (each is #ifndef-guarded, so repeats are harmless), then
    // the tables, which are the same for every case of the OS.
    for (_, p) in cases {
        out.push_str(&p.names);
    }
    if let Some((_, p)) = cases.first() {
        out.push_str(&p.tables);
    }
    out.push_str(super::RUNTIME);
    for (i, (id, p)) in cases.iter().enumerate() {
        let mut names = top_level_names(&p.part);
        names.push("LACKING".into());
        let _ = writeln!(out, "\n/* ==== {id} ==== */");
        let _ = writeln!(out, "#define CASE_ID {}", super::emit::cstr(id));
        for n in &names {
            let _ = writeln!(out, "#define {n} c{i}_{n}");
        }
        out.push_str(&p.lacking);
        out.push_str(&p.part);
        for n in &names {
            let _ = writeln!(out, "#undef {n}");
        }
        out.push_str("#undef CASE_ID\n");
    }
    out.push_str("\nint main(int argc, char **argv)\n{\n");
    out.push_str("\tif (argc != 2) {\n\t\tfprintf(stderr, \"usage: %s CASE_ID\\n\", argv[0]);\n\t\treturn 2;\n\t}\n");
    // `--list`: the cases it holds, a line each, so a runner needs no manifest beside it.
    out.push_str("\tif (strcmp(argv[1], \"--list\") == 0) {\n");
    for (id, _) in cases {
        let _ = writeln!(out, "\t\tputs({});", super::emit::cstr(id));
    }
    out.push_str("\t\treturn 0;\n\t}\n");
    for (i, (id, _)) in cases.iter().enumerate() {
        let _ = writeln!(
            out,
            "\tif (strcmp(argv[1], {}) == 0)\n\t\treturn c{i}_main();",
            super::emit::cstr(id)
        );
    }
    out.push_str("\tfprintf(stderr, \"no case %s in this bundle\\n\", argv[1]);\n\treturn 2;\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_a_case_part_defines_are_found_in_each_form_the_emitter_writes() {
        let part = "\n/* ---- This case ---- */\n\nstatic uintptr_t map_a, map_b;\n\
            static const struct expect want_call = { E_OK };\n\
            static const struct expect dev_0 = { E_ERRNO };\n\
            /* Runs in the forked child */\nstatic void run_case(void)\n{\n\tstatic int x;\n}\n\
            static int judge(void)\n{\n}\nint main(void)\n{\n\tstatic const int kinds[] = { 1 };\n}\n";
        assert_eq!(
            top_level_names(part),
            [
                "dev_0",
                "judge",
                "main",
                "map_a",
                "map_b",
                "run_case",
                "want_call"
            ]
        );
    }
}
