//! The `mmapconf` command: run the suite and write reports, validate case files, list
//! cases, or benchmark the suite against the fork floor.

use clap::{CommandFactory, Parser, Subcommand};
use mmapconf::exec::{self, Executor};
use mmapconf::host::Host;
use mmapconf::judge::Verdict;
use mmapconf::manpage;
use mmapconf::registry::Registry;
use mmapconf::{bench, embedded, load, peers, pid1, report, suite};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The exit codes of `run`, for `--help` (the README says the same).
const RUN_EXIT_CODES: &str = "\
Exit status of `run`:
  0  every case that ran passed or matched a recorded deviation
  1  a kernel failed a case (FAIL)
  2  the run is not trustworthy: a case is BROKEN (harness trouble such as no disk, no
     fork, no descriptor), or the harness could not load cases or write its report";

#[derive(Parser)]
#[command(
    version,
    about = "Clause-by-clause conformance suite for mmap(2) and its family",
    after_help = RUN_EXIT_CODES
)]
struct Cli {
    /// Load cases from this directory instead of the copy built into the binary.
    #[arg(long, global = true)]
    cases: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum RunFormat {
    Tap,
}

#[derive(Subcommand)]
enum Command {
    /// Run the suite on this kernel and write results.json and the report (HTML, Markdown, JUnit, merged JSON) for it.
    #[command(after_help = RUN_EXIT_CODES)]
    Run {
        /// Parallel cases (default: the CPU count).
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Report directory (default: reports/<os>-<release>-<arch>). Written all-or-nothing:
        /// a stopped or failed write keeps the previous files.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only cases whose id contains one of these words (with --exact: is one of them).
        /// A filtered run writes no files unless --out is given, so it never replaces a
        /// full run's report; a filter that matches no case exits 2.
        filter: Vec<String>,
        /// Filters and --skip match whole case ids, not parts of them.
        #[arg(long)]
        exact: bool,
        /// Leave out cases whose id contains this word (with --exact: is it); repeatable.
        #[arg(long, value_name = "WORD")]
        skip: Vec<String>,
        /// List the cases that would run, one `ID: case` line each, and run nothing.
        #[arg(long)]
        list: bool,
        /// Multiply every case's timeout by F, a positive number (slow emulators; as
        /// LTP's LTP_TIMEOUT_MUL).
        #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = suite::parse_timeout_factor)]
        timeout_factor: f64,
        /// What the suite runs under when not the bare kernel, for the report
        /// (e.g. "gVisor runsc 20221219, ptrace platform").
        #[arg(long)]
        under: Option<String>,
        /// Hold the run against this runtime's expectations file: the exit status is 0 when
        /// every failure is listed as it happened and no listed case passes, 1 otherwise.
        #[arg(long)]
        expectations: Option<PathBuf>,
        /// Also print the run as TAP 14 (KTAP, as kselftest does) on stdout and write
        /// results.tap beside the report.
        #[arg(long, value_enum)]
        format: Option<RunFormat>,
    },
    /// Write the expectations file for runs (results.json files of one runtime): each
    /// failing case with what it gives. Given an existing --out, its notes are kept and
    /// its entries that no longer match are named.
    Expectations {
        /// results.json files (repeatable).
        #[arg(long, required = true)]
        from: Vec<PathBuf>,
        /// The file to write (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The runtime's name, for the file's `runtime` key.
        #[arg(long, default_value = "")]
        runtime: String,
    },
    /// Hold results.json files against an expectations file without running anything:
    /// 0 when nothing changed, 1 when something did, 2 when a file is unreadable.
    Gate {
        /// The runtime's expectations file.
        #[arg(long)]
        expectations: PathBuf,
        #[arg(required = true)]
        results: Vec<PathBuf>,
    },
    /// Read a man page (default: this system's mmap(2), as `man -w 2 mmap` finds it) and lay
    /// it over the clause registry: each ERRORS entry and flag with its clause ID, and drift
    /// both ways.
    Clauses {
        /// The page: man(7) or mdoc(7) source (gzip or not) or rendered text.
        #[arg(long)]
        man: Option<PathBuf>,
        /// Registry page to compare with (e.g. hist-freebsd-6-1); default: by OS and name.
        #[arg(long)]
        page: Option<String>,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Validate every case file, the clause registry and the peer ledger (cases/peers/).
    Check,
    /// Print, per peer suite of the ledger, how many of its assertions cases here cover.
    Coverage {
        /// The table as Markdown, as README.md shows it.
        #[arg(long)]
        markdown: bool,
        /// List every missing entry and every file not yet in the ledger instead.
        #[arg(long)]
        missing: bool,
    },
    /// List case ids with their verdict-independent facts.
    List,
    /// Merge results files (one per kernel) into a report: HTML, Markdown, JUnit XML and
    /// the merged JSON.
    Report {
        /// results.json files written by `run`; each run is named after its directory.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// The report directory.
        #[arg(long, default_value = "report")]
        out: PathBuf,
        /// Man pages (man, mdoc or rendered; repeatable) whose wording the report quotes
        /// for each contradicted clause, instead of the registry's summary.
        #[arg(long)]
        man: Vec<PathBuf>,
        /// Also quote this system's own pages of the family (as `man -w 2 NAME` finds them).
        #[arg(long)]
        system_man: bool,
    },
    /// Write a standalone C11 reproducer of a case for this OS (stdout), of every case
    /// (--all --out DIR), or check every reproducer against the harness (--check).
    Repro {
        /// The case id (with --check: only cases whose id contains it).
        case: Option<String>,
        /// Every case that applies here, one file each, into --out.
        #[arg(long)]
        all: bool,
        /// Directory for the files (with --check: keep sources and binaries there).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Generate, compile and run every reproducer and compare each observation with
        /// the harness's for the same case; any difference fails.
        #[arg(long)]
        check: bool,
        /// With --check: compile and run every reproducer as its own program, the file a
        /// user gets (slower: by default they are compiled a few dozen at a time around
        /// one copy of the runtime, each case still run as a process of its own).
        #[arg(long, requires = "check")]
        standalone: bool,
        /// With --all: write them a few dozen to a file (bundle-NNNN.c, run as
        /// `BIN CASE_ID`; `BIN --list` names its cases), for a runtime that takes few,
        /// small binaries (a VM's disk); --run-bins runs such bundles case by case.
        #[arg(long, requires = "all")]
        bundle: bool,
        /// C compiler for --check.
        #[arg(long, default_value = "cc")]
        cc: String,
        /// Extra compiler flag for --check (repeatable), e.g. --cflag=-static.
        #[arg(long = "cflag", allow_hyphen_values = true)]
        cflags: Vec<String>,
        /// Parallel cases for --check and --run-bins (default: the CPU count).
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Run the reproducers built in DIR (executables named after their case, e.g. by
        /// `musl-gcc -static`, or bundles named bundle-*) on this runtime and write their exit statuses and
        /// observation lines to --out FILE (repro.json, beside the results.json of a run
        /// on the same runtime). Needs no cases and no harness.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["check", "all"])]
        run_bins: Option<PathBuf>,
        /// With --run-bins: run each reproducer as `VIA BIN` (an emulator: qemu-aarch64).
        #[arg(long, value_name = "PROGRAM", requires = "run_bins")]
        via: Option<PathBuf>,
        /// With --run-bins: seconds after which a reproducer is killed.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// Compare RUN_DIR/results.json with RUN_DIR/repro.json (repeatable): each case's
        /// normal observation against its reproducer's. Exit 1 when any differs or a
        /// reproducer is broken, 2 when a file cannot be read.
        #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["check", "all", "run_bins"])]
        compare: Vec<PathBuf>,
    },
    /// Time the suite per case against a bare fork + _exit + waitpid.
    Bench {
        /// Rounds over the whole suite.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

/// The suite from `dir`, or the built-in copy; errors are printed, located.
fn load_suite(dir: Option<&Path>) -> Option<load::Suite> {
    let loaded = match dir {
        Some(d) => load::load_dir(d),
        None => embedded::suite(),
    };
    loaded
        .map_err(|errors| {
            for e in &errors {
                eprintln!("error: {}", mmapconf::names::name_errnos(&e.to_string()));
            }
            let from = dir.map_or_else(|| "the built-in cases".into(), |d| d.display().to_string());
            eprintln!("{} error(s) in {from}", errors.len());
        })
        .ok()
}

/// The peer ledger beside the suite (from `dir/peers/` or the built-in copy), checked
/// against its case ids; errors are printed, located.
fn load_ledger(dir: Option<&Path>, suite: &load::Suite) -> Option<Vec<peers::PeerSuite>> {
    let files = match dir.map_or_else(peers::embedded_files, peers::dir_files) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    let ids: HashSet<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
    peers::load(files.iter().map(|(p, t)| (p.as_path(), t.as_str())), &ids)
        .map_err(|errors| {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!("{} error(s) in the peer ledger", errors.len());
        })
        .ok()
}

fn main() -> ExitCode {
    let words: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    if pid1::is_init(&words.iter().map(String::as_str).collect::<Vec<_>>()) {
        init_main();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => exit_on_bad_usage(e),
    };
    let Some(suite) = load_suite(cli.cases.as_deref()) else {
        return ExitCode::from(2);
    };
    let from = cli
        .cases
        .as_ref()
        .map_or_else(|| "the built-in cases".into(), |d| d.display().to_string());
    match cli.command {
        Command::Clauses { man, page, json } => {
            let (out, code) =
                mmapconf::manpage::cli(man.as_deref(), page.as_deref(), json, &suite.registry);
            if code == mmapconf::manpage::cli::EXIT_UNREADABLE {
                eprint!("{}", mmapconf::names::name_errnos(&out));
            } else {
                print_all(&out);
            }
            ExitCode::from(code)
        }
        Command::Check => {
            // Loading evaluated every expression; planning on every OS and page size finds
            // what only a whole case shows (an object too large, bytes that cannot apply).
            let mut defects = 0;
            for (i, errors) in mmapconf::plan::check_all(&suite.cases) {
                let c = &suite.cases[i];
                for e in errors {
                    eprintln!("error: {}:{}:1: {e}", c.file.display(), c.line);
                    defects += 1;
                }
            }
            if defects > 0 {
                eprintln!("{defects} error(s) in {from}");
                return ExitCode::from(2);
            }
            let Some(ledger) = load_ledger(cli.cases.as_deref(), &suite) else {
                return ExitCode::from(2);
            };
            println!(
                "ok: {} cases, {} clauses of {} pages, {} peer-ledger entries of {} suites in {from}",
                suite.cases.len(),
                suite.registry.clauses.len(),
                suite.registry.pages.len(),
                ledger.iter().map(|s| s.entries.len()).sum::<usize>(),
                ledger.len(),
            );
            ExitCode::SUCCESS
        }
        Command::Coverage { markdown, missing } => {
            let Some(ledger) = load_ledger(cli.cases.as_deref(), &suite) else {
                return ExitCode::from(2);
            };
            let out = if missing {
                peers::missing_list(&ledger)
            } else if markdown {
                peers::table_markdown(&ledger)
            } else {
                peers::table_text(&ledger)
            };
            print_all(&out);
            ExitCode::SUCCESS
        }
        Command::List => {
            let out: String = suite
                .cases
                .iter()
                .map(|c| format!("{}\t{}\t{}\n", c.id, c.clauses.join(","), c.title))
                .collect();
            print_all(&out);
            ExitCode::SUCCESS
        }
        Command::Run {
            jobs,
            out,
            filter,
            exact,
            skip,
            list,
            timeout_factor,
            under,
            expectations,
            format,
        } => {
            let select = Selection {
                filter,
                skip,
                exact,
            };
            if list {
                for c in suite.cases.iter().filter(|c| select.keeps(&c.id)) {
                    println!("{}: case", c.id);
                }
                return ExitCode::SUCCESS;
            }
            let opts = suite::Options {
                timeout_factor,
                ..Default::default()
            };
            let gate = RunGate {
                report: true,
                expectations,
                tap: format == Some(RunFormat::Tap),
            };
            ExitCode::from(run(&suite, jobs, out, &select, &opts, under, &gate))
        }
        Command::Expectations { from, out, runtime } => ExitCode::from(
            mmapconf::expectations::write_from(&runtime, &from, out.as_deref()),
        ),
        Command::Gate {
            expectations,
            results,
        } => ExitCode::from(mmapconf::expectations::gate_files(&expectations, &results)),
        Command::Report {
            results,
            out,
            man,
            system_man,
        } => {
            let mut pages = match read_pages(&suite.registry, &man) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {}", mmapconf::names::name_errnos(&e.to_string()));
                    return ExitCode::from(2);
                }
            };
            if system_man {
                let (texts, read) = system_pages(&suite.registry, &Host::detect());
                for (id, t) in texts {
                    pages.0.entry(id).or_insert(t);
                }
                pages.1.extend(read);
            }
            ExitCode::from(merge_report(&suite, &results, &out, pages, false))
        }
        Command::Repro {
            case,
            all,
            out,
            check,
            standalone,
            bundle,
            cc,
            cflags,
            jobs,
            run_bins,
            via,
            timeout,
            compare,
        } => {
            let req = mmapconf::repro::cli::Request {
                case,
                all,
                out,
                check,
                standalone,
                bundle,
                cc,
                cflags,
                jobs,
                run_bins,
                via,
                timeout: std::time::Duration::from_secs(timeout),
                compare,
            };
            if req.offline() {
                return ExitCode::from(mmapconf::repro::cli::offline(&req));
            }
            let Some(executor) = executor() else {
                return ExitCode::from(2);
            };
            ExitCode::from(mmapconf::repro::cli::main(&req, &suite, &|p| {
                executor.run(p)
            }))
        }
        Command::Bench { rounds } => {
            let host = Host::detect();
            let Some(executor) = executor() else {
                return ExitCode::from(2);
            };
            let r = bench::run(&suite.cases, &host, &executor, rounds);
            println!(
                "{} case runs over {} rounds: {:.1} us per case; fork+_exit+waitpid floor {:.1} us; ratio {:.2}x",
                r.cases_run,
                r.rounds,
                r.per_case.as_secs_f64() * 1e6,
                r.fork_floor.as_secs_f64() * 1e6,
                r.ratio()
            );
            ExitCode::SUCCESS
        }
    }
}

/// Writes `out` to stdout; a reader that went away (`| head`) ends the listing quietly
/// instead of panicking as `print!` does.
fn print_all(out: &str) {
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}

/// Prints a usage error and exits 2 (clap's status). clap's tip for an unknown `--flag` is
/// to pass it after `--`, which makes it a filter word that matches no case: a suggestion
/// of something `run` does not do, so it is dropped; a libtest flag gets a pointer to what
/// `run` takes instead. Help and version go out as clap makes them.
fn exit_on_bad_usage(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let text = e.render().to_string();
    let mut out: String = text
        .lines()
        .filter(|l| !(l.contains("to pass '") && l.contains("as a value, use '--")))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\n\n\n", "\n\n");
    if e.kind() == ErrorKind::UnknownArgument
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
    {
        let flag = arg.split('=').next().unwrap_or("");
        if LIBTEST_ONLY.contains(&flag) {
            out.push_str(&format!(
                "\n\nnote: {flag} is a `cargo test` option; `mmapconf run` selects cases with \
                 FILTER words, --exact, --skip and --list (see `mmapconf run --help`)"
            ));
        }
    }
    eprintln!("{}", out.trim_end());
    std::process::exit(2)
}

/// libtest options that `run` does not take.
const LIBTEST_ONLY: [&str; 9] = [
    "--ignored",
    "--include-ignored",
    "--nocapture",
    "--test-threads",
    "--format",
    "--show-output",
    "--quiet",
    "--color",
    "--logfile",
];

/// PID 1 of a minimal VM: mount, run every built-in case, hand results.json to the host,
/// power off. Arguments are ignored: the kernel passes its leftover words to init.
fn init_main() -> ! {
    let settings = pid1::Settings::from_env();
    pid1::mount_all(&settings);
    let uts = nix::sys::utsname::uname().ok();
    println!(
        "mmapconf init: {} {}, results to {}",
        uts.as_ref()
            .map_or("?".into(), |u| u.sysname().to_string_lossy().into_owned()),
        uts.as_ref()
            .map_or("?".into(), |u| u.release().to_string_lossy().into_owned()),
        settings.results
    );
    if let Some(dir) = &settings.repro_src {
        let code = match load_suite(None) {
            Some(suite) if settings.repro_bundle => {
                mmapconf::repro::cli::write_bundles(&suite, &Host::detect(), Path::new(dir))
            }
            Some(suite) => mmapconf::repro::cli::write_all(&suite, &Host::detect(), Path::new(dir)),
            None => 2,
        };
        println!("mmapconf init: reproducers written to {dir}, exit status {code}; powering off");
        pid1::power_off()
    }
    let out = PathBuf::from("/tmp/mmapconf-report");
    let code = match load_suite(None) {
        Some(suite) => run(
            &suite,
            None,
            Some(out.clone()),
            &Selection::default(),
            &suite::Options::default(),
            Some(settings.under.clone()),
            // Only results.json: the host makes the report, with its own man pages.
            &RunGate::default(),
        ),
        None => 2,
    };
    match pid1::deliver(&out.join("results.json"), &settings.results) {
        Ok(n) => println!(
            "mmapconf init: wrote {n} bytes of results.json to {}",
            settings.results
        ),
        Err(e) => println!(
            "mmapconf init: cannot deliver results to {}: {}",
            settings.results,
            mmapconf::names::name_errnos(&e.to_string())
        ),
    }
    if let Some((bins, dest)) = &settings.repro {
        println!("mmapconf init: {}", init_reproducers(bins, dest));
    }
    println!("mmapconf init: exit status {code}; powering off");
    pid1::power_off()
}

fn executor() -> Option<Executor> {
    match Executor::new() {
        Ok(e) => Some(e),
        Err(err) => {
            eprintln!(
                "error: cannot create the work directory: {}",
                mmapconf::names::os_error(&err)
            );
            None
        }
    }
}

/// Which cases a run takes, as libtest selects tests: filter words, `--skip`, `--exact`.
#[derive(Default)]
struct Selection {
    filter: Vec<String>,
    skip: Vec<String>,
    exact: bool,
}

impl Selection {
    fn keeps(&self, id: &str) -> bool {
        let hit = |w: &String| {
            if self.exact {
                id == w
            } else {
                id.contains(w.as_str())
            }
        };
        (self.filter.is_empty() || self.filter.iter().any(hit)) && !self.skip.iter().any(hit)
    }
}

fn run(
    suite: &load::Suite,
    jobs: Option<usize>,
    out: Option<PathBuf>,
    select: &Selection,
    opts: &suite::Options,
    under: Option<String>,
    gate: &RunGate,
) -> u8 {
    let with_report = gate.report;
    let mut host = Host::detect();
    host.under = under.unwrap_or_default();
    let cases: Vec<_> = suite
        .cases
        .iter()
        .filter(|c| select.keeps(&c.id))
        .cloned()
        .collect();
    if cases.is_empty() {
        eprintln!(
            "error: no case id contains any of {:?} (skipping {:?}); nothing run, nothing written",
            select.filter, select.skip
        );
        return 2;
    }
    // A part of the suite must not pass for the whole of it: without --out, a filtered run
    // writes nothing and the default report directory keeps the last full run's report.
    let filtered = cases.len() < suite.cases.len();
    let dir = match (&out, filtered) {
        (Some(d), _) => Some(d.clone()),
        (None, false) => Some(Path::new("reports").join(host.report_dir_name())),
        (None, true) => None,
    };
    if dir.is_none() && (gate.expectations.is_some() || gate.tap) {
        eprintln!(
            "error: --expectations and --format tap read the results written: a filtered run needs --out"
        );
        return 2;
    }
    // Before any thread: the signal thread must be the only one to take SIGINT/TERM/HUP.
    if let Err(e) = exec::signals::install("the run") {
        eprintln!("error: cannot start the signal thread ({e})");
        return 2;
    }
    let Some(executor) = executor() else {
        return 2;
    };
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let total = cases.len();
    let count = std::sync::atomic::AtomicUsize::new(0);
    let progress = |r: &mmapconf::judge::CaseResult| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        // One write per line: stderr is unbuffered.
        let line = format!("[{n:>3}/{total}] {:<15} {}\n", r.verdict.label(), r.id);
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    };
    let slow = |id: &str, ran: std::time::Duration| {
        let line = format!("still running after {}s: {id}\n", ran.as_secs());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    };
    let results = match suite::run_all_with(&cases, &host, &executor, jobs, opts, &progress, &slow)
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // The work directories go before the outputs are written.
    drop(executor);
    for r in results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Broken))
    {
        eprintln!("\n{}", r.explain());
    }
    let status = exit_status(&results);
    // With TAP on stdout, everything else goes to stderr.
    let say = |line: String| {
        if gate.tap {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(report::tally(&results));
    let Some(dir) = dir else {
        say(format!(
            "a filtered run ({} of {} cases) writes no report without --out",
            cases.len(),
            suite.cases.len()
        ));
        return status;
    };
    let pages = if with_report {
        system_pages(&suite.registry, &host)
    } else {
        Default::default()
    };
    match write_run(suite, &dir, &host, &results, with_report.then_some(pages)) {
        Ok(paths) => {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            say(format!("wrote {}", names.join(", ")));
            // Broken cases make the run untrustworthy, whatever the gate says.
            if status != 2 && (gate.expectations.is_some() || gate.tap) {
                return gate.apply(&dir.join("results.json"), &dir);
            }
            status
        }
        Err(e) => {
            eprintln!(
                "error: cannot write the results to {}: {}; the previous files there are kept",
                dir.display(),
                mmapconf::names::name_errnos(&e)
            );
            2
        }
    }
}

/// Writes results.json and, with `pages`, the report for this one run beside it, as one
/// all-or-nothing set (results.json renamed last: see [`mmapconf::atomic`]).
fn write_run(
    suite: &load::Suite,
    dir: &Path,
    host: &Host,
    results: &[mmapconf::judge::CaseResult],
    pages: Option<PageTexts>,
) -> Result<Vec<PathBuf>, String> {
    let mut batch = mmapconf::atomic::Batch::new(dir).map_err(|e| e.to_string())?;
    let json = report::results_json(host, results).map_err(|e| e.to_string())?;
    let tmp = batch
        .add("results.json", json.as_bytes())
        .map_err(|e| e.to_string())?;
    if let Some(pages) = pages {
        // The report is made from results.json as written, like `report` would.
        let mut run = report::merge::Run::read(&tmp)?;
        run.name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        let mut merged = merged(suite, vec![run], pages);
        add_reproducers(suite, &mut merged, &mut batch).map_err(|e| e.to_string())?;
        report::add_report(&mut batch, &merged).map_err(|e| e.to_string())?;
    }
    batch.commit().map_err(|e| e.to_string())
}

/// 2 when any case is broken (the run is incomplete, whatever else it found), else 1 when
/// a kernel failed a case, else 0.
fn exit_status(results: &[mmapconf::judge::CaseResult]) -> u8 {
    if results.iter().any(|r| r.verdict == Verdict::Broken) {
        2
    } else {
        u8::from(results.iter().any(|r| r.verdict == Verdict::Fail))
    }
}

/// What `run` writes and checks beyond results.json: the report, TAP, and the
/// expectations gate.
#[derive(Default)]
struct RunGate {
    /// The report beside results.json (not in PID-1 mode: the host makes it there).
    report: bool,
    expectations: Option<PathBuf>,
    tap: bool,
}

impl RunGate {
    /// Reads the results back (as the gate on results from a VM does), writes TAP and
    /// holds them against the expectations; the exit status of `run`.
    fn apply(&self, json: &Path, dir: &Path) -> u8 {
        use mmapconf::expectations::{Class, Expectations, is_failure};
        let run = match report::merge::Run::read(json) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let expectations = match self.expectations.as_deref().map(Expectations::read) {
            None => None,
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let gate = expectations.as_ref().map(|e| e.gate(&run));
        if self.tap {
            let todo = gate
                .iter()
                .flat_map(|g| &g.classes)
                .filter(|(_, _, c)| *c == Class::ExpectedFailure)
                .map(|(id, _, _)| {
                    let note = expectations
                        .iter()
                        .flat_map(|e| &e.cases)
                        .find(|e| &e.id == id);
                    (id.clone(), note.map_or(String::new(), |e| e.note.clone()))
                })
                .collect();
            let tap = report::tap::render(&run, &todo);
            print!("{tap}");
            let written = mmapconf::atomic::Batch::new(dir).and_then(|mut b| {
                b.add("results.tap", tap.as_bytes())?;
                b.commit()
            });
            if let Err(e) = written {
                eprintln!(
                    "error: cannot write {}: {}",
                    dir.join("results.tap").display(),
                    mmapconf::names::os_error(&e)
                );
                return 2;
            }
        }
        match gate {
            Some(g) => {
                eprint!("{}", g.summary());
                u8::from(!g.passed())
            }
            None => u8::from(run.cases.iter().any(|c| is_failure(&c.verdict))),
        }
    }
}

/// Clause texts from man pages, by clause id, and a line per page read.
type PageTexts = (BTreeMap<String, String>, Vec<String>);

/// Reads each page and lays it over the registry; an unreadable page is an error.
fn read_pages(registry: &Registry, paths: &[PathBuf]) -> Result<PageTexts, String> {
    let mut texts = BTreeMap::new();
    let mut read = Vec::new();
    for path in paths {
        let page = manpage::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mapping = manpage::map(&page, registry, None);
        for m in &mapping.mapped {
            texts.entry(m.id.clone()).or_insert_with(|| m.text.clone());
        }
        read.push(format!(
            "{} ({}; {} clauses quoted)",
            path.display(),
            page.version_line(),
            mapping.mapped.len()
        ));
    }
    Ok((texts, read))
}

/// This system's own pages of the family, for the report of a run on it; pages that are
/// not installed are named on stderr and the report falls back to summaries for them.
fn system_pages(registry: &Registry, host: &Host) -> PageTexts {
    let Some(os) = host.os.map(|o| o.key()) else {
        return Default::default();
    };
    let mut names: Vec<(&str, &str)> = registry
        .pages
        .values()
        .filter(|p| p.os == os && !p.historical)
        .map(|p| (p.name.as_str(), p.section.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut paths = Vec::new();
    for (name, section) in names {
        match manpage::cli::system_page(name, section) {
            Ok(p) => paths.push(p),
            Err(e) => eprintln!(
                "note: {}; the report shows the registry's summaries instead",
                mmapconf::names::name_errnos(&e.to_string())
            ),
        }
    }
    read_pages(registry, &paths).unwrap_or_else(|e| {
        eprintln!(
            "note: {}; the report shows the registry's summaries instead",
            mmapconf::names::name_errnos(&e)
        );
        Default::default()
    })
}

/// Reads every results file and writes the merged report; 2 when a file is unreadable.
/// The summary goes to stdout, or to stderr when stdout carries TAP.
fn merge_report(
    suite: &load::Suite,
    files: &[PathBuf],
    out: &Path,
    pages: PageTexts,
    tap: bool,
) -> u8 {
    let mut runs = Vec::new();
    for f in files {
        match report::merge::Run::read(f) {
            Ok(r) => runs.push(r),
            Err(e) => {
                eprintln!("error: {}", mmapconf::names::name_errnos(&e.to_string()));
                return 2;
            }
        }
    }
    let mut merged = merged(suite, runs, pages);
    let written = mmapconf::atomic::Batch::new(out).and_then(|mut batch| {
        add_reproducers(suite, &mut merged, &mut batch)?;
        report::add_report(&mut batch, &merged)?;
        batch.commit()
    });
    match written {
        Ok(paths) => {
            let line = format!(
                "{} runs: {} clause contradictions, {} cases differ; wrote {}",
                merged.runs.len(),
                merged.contradictions.len(),
                merged.differences.len(),
                written_summary(&paths)
            );
            if tap {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
            0
        }
        Err(e) => {
            eprintln!(
                "error: cannot write the report to {}: {}",
                out.display(),
                mmapconf::names::os_error(&e)
            );
            2
        }
    }
}

/// Writes `repro/<case-id>.c` for every red cell's case into the report's batch (so the
/// reproducers and the pages that link them are replaced together) and tells the pages.
fn add_reproducers(
    suite: &load::Suite,
    merged: &mut report::merge::Merged,
    batch: &mut mmapconf::atomic::Batch,
) -> std::io::Result<()> {
    let files = mmapconf::repro::for_report(&merged.red_cases(), &suite.cases, &suite.registry);
    batch.claim_subdir("repro")?;
    for (name, src) in files {
        batch.add(&name, src.as_bytes())?;
        let id = name
            .trim_start_matches("repro/")
            .trim_end_matches(".c")
            .to_string();
        merged.reproducers.insert(id, name);
    }
    Ok(())
}

fn merged(
    suite: &load::Suite,
    runs: Vec<report::merge::Run>,
    pages: PageTexts,
) -> report::merge::Merged<'_> {
    let (texts, read) = pages;
    let mut merged = report::merge::Merged::new(runs, &suite.registry, texts);
    merged.pages_read = read;
    merged
}

/// The files a report wrote, with the reproducers and column pages (hundreds of them on a
/// matrix) counted per directory rather than listed one by one.
fn written_summary(paths: &[std::path::PathBuf]) -> String {
    let mut named = Vec::new();
    let mut counted: std::collections::BTreeMap<String, usize> = Default::default();
    for p in paths {
        let dir = p
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|d| d.to_str());
        match dir {
            Some("repro" | "columns") => {
                *counted
                    .entry(p.parent().unwrap_or(p).display().to_string())
                    .or_default() += 1;
            }
            _ => named.push(p.display().to_string()),
        }
    }
    named.extend(
        counted
            .into_iter()
            .map(|(d, n)| format!("{n} files in {d}/")),
    );
    named.join(", ")
}

/// PID 1's second part where the host asked for it: the C reproducers in `bins` run on
/// this kernel one at a time (the cases' own timeouts are in them; 60 s kills a hung
/// one), their record written to `dest`. The line to print.
fn init_reproducers(bins: &str, dest: &str) -> String {
    use mmapconf::repro::run_bins;
    let list = match run_bins::binaries(Path::new(bins)) {
        Ok(l) => l,
        Err(e) => return format!("reproducers not run: {e}"),
    };
    let start = std::time::Instant::now();
    let limit = std::time::Duration::from_secs(60);
    let file = run_bins::run(
        &run_bins::targets(&list, None, limit),
        None,
        limit,
        1,
        &|_| {},
    );
    let written = serde_json::to_string_pretty(&file)
        .map_err(|e| e.to_string())
        .and_then(|t| std::fs::write(dest, t + "\n").map_err(|e| e.to_string()));
    match written {
        Ok(()) => format!(
            "ran {} reproducers in {:.1} s; wrote {dest}",
            file.reproducers.len(),
            start.elapsed().as_secs_f64()
        ),
        Err(e) => format!("cannot write {dest}: {e}"),
    }
}
