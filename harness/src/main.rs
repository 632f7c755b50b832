//! The `mmapconf` command: run the suite and write reports, validate case files, list
//! cases, or benchmark the suite against the fork floor.

use clap::{CommandFactory, Parser, Subcommand};
use mmapconf::exec::{self, Executor};
use mmapconf::host::Host;
use mmapconf::judge::Verdict;
use mmapconf::manpage;
use mmapconf::registry::Registry;
use mmapconf::{bench, embedded, load, pid1, report, suite};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "Clause-by-clause conformance suite for mmap(2) and its family"
)]
struct Cli {
    /// Load cases from this directory instead of the copy built into the binary.
    #[arg(long, global = true)]
    cases: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the suite on this kernel and write results.json and the report (HTML, Markdown, JUnit, merged JSON) for it.
    Run {
        /// Parallel cases (default: the CPU count).
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Report directory (default: reports/<os>-<release>-<arch>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only cases whose id contains one of these words.
        filter: Vec<String>,
        /// What the suite runs under when not the bare kernel, for the report
        /// (e.g. "gVisor runsc 20221219, ptrace platform").
        #[arg(long)]
        under: Option<String>,
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
    /// Validate every case file and the clause registry.
    Check,
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
        /// C compiler for --check.
        #[arg(long, default_value = "cc")]
        cc: String,
        /// Extra compiler flag for --check (repeatable), e.g. --cflag=-static.
        #[arg(long = "cflag", allow_hyphen_values = true)]
        cflags: Vec<String>,
        /// Parallel cases for --check (default: the CPU count).
        #[arg(short, long)]
        jobs: Option<usize>,
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
                eprintln!("error: {e}");
            }
            let from = dir.map_or_else(|| "the built-in cases".into(), |d| d.display().to_string());
            eprintln!("{} error(s) in {from}", errors.len());
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
    let cli = Cli::parse();
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
                eprint!("{out}");
            } else {
                print!("{out}");
            }
            ExitCode::from(code)
        }
        Command::Check => {
            println!(
                "ok: {} cases, {} clauses of {} pages in {from}",
                suite.cases.len(),
                suite.registry.clauses.len(),
                suite.registry.pages.len(),
            );
            ExitCode::SUCCESS
        }
        Command::List => {
            for c in &suite.cases {
                println!("{}\t{}\t{}", c.id, c.clauses.join(","), c.title);
            }
            ExitCode::SUCCESS
        }
        Command::Run {
            jobs,
            out,
            filter,
            under,
        } => ExitCode::from(run(&suite, jobs, out, filter, under, true)),
        Command::Report {
            results,
            out,
            man,
            system_man,
        } => {
            let mut pages = match read_pages(&suite.registry, &man) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {e}");
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
            ExitCode::from(merge_report(&suite, &results, &out, pages))
        }
        Command::Repro {
            case,
            all,
            out,
            check,
            cc,
            cflags,
            jobs,
        } => {
            let Some(executor) = executor() else {
                return ExitCode::from(2);
            };
            let req = mmapconf::repro::cli::Request {
                case,
                all,
                out,
                check,
                cc,
                cflags,
                jobs,
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
    let out = PathBuf::from("/tmp/mmapconf-report");
    let code = match load_suite(None) {
        Some(suite) => run(
            &suite,
            None,
            Some(out.clone()),
            Vec::new(),
            Some(settings.under.clone()),
            // Only results.json: the host makes the report, with its own man pages.
            false,
        ),
        None => 2,
    };
    match pid1::deliver(&out.join("results.json"), &settings.results) {
        Ok(n) => println!(
            "mmapconf init: wrote {n} bytes of results.json to {}",
            settings.results
        ),
        Err(e) => println!(
            "mmapconf init: cannot deliver results to {}: {e}",
            settings.results
        ),
    }
    println!("mmapconf init: exit status {code}; powering off");
    pid1::power_off()
}

fn executor() -> Option<Executor> {
    match Executor::new() {
        Ok(e) => Some(e),
        Err(err) => {
            eprintln!("error: cannot create the work directory: {err}");
            None
        }
    }
}

fn run(
    suite: &load::Suite,
    jobs: Option<usize>,
    out: Option<PathBuf>,
    filter: Vec<String>,
    under: Option<String>,
    with_report: bool,
) -> u8 {
    let mut host = Host::detect();
    host.under = under.unwrap_or_default();
    let cases: Vec<_> = suite
        .cases
        .iter()
        .filter(|c| filter.is_empty() || filter.iter().any(|f| c.id.contains(f.as_str())))
        .cloned()
        .collect();
    let Some(executor) = executor() else {
        return 2;
    };
    if let Err(e) = ctrlc::set_handler(|| {
        exec::abort_all();
        eprintln!("\ninterrupted: children killed, work files removed");
        std::process::exit(130);
    }) {
        eprintln!("warning: no Ctrl-C handler ({e}); an interrupt may leave work files behind");
    }
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let total = cases.len();
    let count = std::sync::atomic::AtomicUsize::new(0);
    let progress = |r: &mmapconf::judge::CaseResult| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        // One write per line: stderr is unbuffered.
        let line = format!("[{n:>3}/{total}] {:<15} {}\n", r.verdict.label(), r.id);
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    };
    let results = suite::run_all(&cases, &host, &executor, jobs, &progress);
    for r in results.iter().filter(|r| r.verdict == Verdict::Fail) {
        eprintln!("\n{}", r.explain());
    }
    let dir = out.unwrap_or_else(|| Path::new("reports").join(host.report_dir_name()));
    let json = match report::write_results(&dir, &host, &results) {
        Ok(json) => json,
        Err(e) => {
            eprintln!("error: cannot write the results to {}: {e}", dir.display());
            return 2;
        }
    };
    println!("{}\nwrote {}", report::tally(&results), json.display());
    // The report for this one kernel, beside its results.
    if with_report && merge_report(suite, &[json], &dir, system_pages(&suite.registry, &host)) != 0
    {
        return 2;
    }
    u8::from(results.iter().any(|r| r.verdict == Verdict::Fail))
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
    let mut names: Vec<&str> = registry
        .pages
        .values()
        .filter(|p| p.os == os && !p.historical)
        .map(|p| p.name.as_str())
        .collect();
    names.dedup();
    let mut paths = Vec::new();
    for name in names {
        match manpage::cli::system_page(name) {
            Ok(p) => paths.push(p),
            Err(e) => eprintln!("note: {e}; the report shows the registry's summaries instead"),
        }
    }
    read_pages(registry, &paths).unwrap_or_else(|e| {
        eprintln!("note: {e}; the report shows the registry's summaries instead");
        Default::default()
    })
}

/// Reads every results file and writes the merged report; 2 when a file is unreadable.
fn merge_report(suite: &load::Suite, files: &[PathBuf], out: &Path, pages: PageTexts) -> u8 {
    let mut runs = Vec::new();
    for f in files {
        match report::merge::Run::read(f) {
            Ok(r) => runs.push(r),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let (texts, read) = pages;
    let mut merged = report::merge::Merged::new(runs, &suite.registry, texts);
    merged.pages_read = read;
    match report::write_report(out, &merged) {
        Ok(paths) => {
            println!(
                "{} runs: {} clause contradictions, {} cases differ; wrote {}",
                merged.runs.len(),
                merged.contradictions.len(),
                merged.differences.len(),
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            0
        }
        Err(e) => {
            eprintln!("error: cannot write the report to {}: {e}", out.display());
            2
        }
    }
}
