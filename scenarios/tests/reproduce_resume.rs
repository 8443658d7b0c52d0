//! Interrupting `nftwin reproduce` and resuming it: an interrupted target leaves no manifest
//! and no figure file, `--resume` reads its finished runs back and writes the same bytes as an
//! uninterrupted run; the `all` index links every figure it lists.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::ProgressBar;
use scenarios::reproduce::{self, IndexEntry, RunOptions, TargetDone, RUNS_DIR};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nftwin-resume-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn baseline() -> &'static reproduce::Target {
    reproduce::resolve(&["baseline".to_string()]).unwrap()[0]
}

fn opts(out: &Path, threads: usize, resume: bool) -> RunOptions {
    RunOptions { quick: true, out: out.to_path_buf(), threads, resume }
}

/// The names of the files directly in `dir` (not the runs folder), sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn runs_kept(dir: &Path) -> usize {
    std::fs::read_dir(dir.join(RUNS_DIR)).map_or(0, |d| {
        d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json")).count()
    })
}

fn assert_same_files(clean: &Path, other: &Path) {
    let names = files(clean);
    assert!(names.contains(&"manifest.json".to_string()), "{names:?}");
    assert_eq!(files(other), names);
    for n in &names {
        let a = std::fs::read(clean.join(n)).unwrap();
        let b = std::fs::read(other.join(n)).unwrap();
        assert!(a == b, "{n} differs between {} and {}", clean.display(), other.display());
    }
}

/// Runs the target with `cancel` set by a watcher once the bar shows `after` finished runs.
fn run_cancelled_after(out: &Path, after: u64) -> Option<TargetDone> {
    let bar = ProgressBar::hidden();
    let cancel = AtomicBool::new(false);
    std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            while bar.position() < after && !bar.is_finished() {
                std::thread::sleep(Duration::from_micros(200));
            }
            cancel.store(true, Ordering::Relaxed);
        });
        let r = reproduce::run_target(baseline(), &opts(out, 1, false), Some(&bar), &cancel);
        bar.finish();
        watcher.join().unwrap();
        r.unwrap()
    })
}

#[test]
fn an_interrupted_target_leaves_no_manifest_and_resume_writes_the_same_bytes() {
    let clean = scratch("clean");
    let cut = scratch("cut");
    let never = AtomicBool::new(false);
    let done = reproduce::run_target(baseline(), &opts(&clean, 2, false), None, &never)
        .unwrap()
        .expect("not cancelled");
    assert_eq!(done.resumed, 0);
    let total = done.runs as usize;
    let dir = cut.join("baseline");

    let r = run_cancelled_after(&cut, 3);
    assert!(r.is_none(), "the run was cancelled after 3 of {total} runs");
    // Nothing but finished runs: no manifest, no CSV or PNG, no temp file.
    assert_eq!(files(&dir), Vec::<String>::new());
    let kept = runs_kept(&dir);
    assert!((3..total).contains(&kept), "{kept} of {total} runs kept");
    let runs_dir: Vec<String> = files(&dir.join(RUNS_DIR));
    assert!(runs_dir.iter().all(|n| n.ends_with(".json")), "{runs_dir:?}");

    // A stale temp file (a second Ctrl-C mid-write) is removed, a damaged run reruns.
    std::fs::write(dir.join("baseline-lost-updates.csv.tmp"), "figure,ser").unwrap();
    let first = dir.join(RUNS_DIR).join(&runs_dir[0]);
    std::fs::write(&first, "{\n  \"run_fnv1a64\": \"0\"\n").unwrap();

    let resumed = reproduce::run_target(baseline(), &opts(&cut, 2, true), None, &never)
        .unwrap()
        .expect("not cancelled");
    // A kept run serves every job of the same configuration and seed (baseline's figures
    // share points), so at least every kept run but the damaged one is read back.
    let back = resumed.resumed as usize;
    assert!(back >= kept - 1 && back < total, "{back} read back, {kept} kept of {total}");
    assert_eq!(resumed.files, done.files);
    assert_same_files(&clean.join("baseline"), &dir);
    let specs = (baseline().figures)(true);
    let mut keys: Vec<u64> = reproduce::jobs_of(&specs)
        .iter()
        .map(|j| reproduce::RunCache::key(j.config, j.seed))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(runs_kept(&dir), keys.len(), "one kept run per distinct (configuration, seed)");

    // Without --resume the kept runs are dropped and everything reruns, same bytes again.
    let again = reproduce::run_target(baseline(), &opts(&cut, 1, false), None, &never)
        .unwrap()
        .expect("not cancelled");
    assert_eq!(again.resumed, 0);
    assert_same_files(&clean.join("baseline"), &dir);

    // The index: every listed figure's PNG embedded by a relative link that exists.
    let entries = [IndexEntry { target: baseline(), done: &done, seconds: 1.25 }];
    let md = reproduce::index_markdown("nftwin reproduce all --quick", &entries);
    assert!(md.contains("`nftwin reproduce all --quick`"), "{md}");
    assert!(md.contains(baseline().description), "{md}");
    assert!(md.contains("| 1.2 |") || md.contains("| 1.3 |"), "{md}");
    for fig in &done.figures {
        let stem = reproduce::file_stem(&fig.id);
        let png = format!("![{}](baseline/{stem}.png)", fig.title);
        assert!(md.contains(&png), "{png} missing from\n{md}");
        assert!(clean.join(format!("baseline/{stem}.png")).is_file());
        assert!(md.contains(&fig.title));
    }
    let _ = std::fs::remove_dir_all(&clean);
    let _ = std::fs::remove_dir_all(&cut);
}

/// Ctrl-C as a user sends it: SIGINT to `nftwin reproduce baseline --quick` once it has
/// finished some runs. It exits with 130 and leaves no manifest; `--resume` completes it.
#[cfg(unix)]
#[test]
fn sigint_stops_the_cli_without_a_manifest_and_resume_completes_it() {
    let clean = scratch("cli-clean");
    let cut = scratch("cli-cut");
    let nftwin = env!("CARGO_BIN_EXE_nftwin");
    let run = |out: &Path, extra: &[&str]| {
        Command::new(nftwin)
            .args(["reproduce", "baseline", "--quick", "--jobs", "1", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&clean, &[]).status.success());

    let mut child = Command::new(nftwin)
        .args(["reproduce", "baseline", "--quick", "--jobs", "1", "--out"])
        .arg(&cut)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let dir = cut.join("baseline");
    while runs_kept(&dir) < 2 {
        assert!(child.try_wait().unwrap().is_none(), "it finished before 2 runs were kept");
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let total = 28;
    let kept = runs_kept(&dir);
    if kept < total {
        // The signal arrived while runs remained: the interrupted outcome.
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("--resume"), "{stderr}");
        assert_eq!(files(&dir), Vec::<String>::new());
    }
    let resumed = run(&cut, &["--resume"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    let back: usize = stdout
        .split(" resumed")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(back >= kept, "{kept} runs kept, {back} read back:\n{stdout}");
    assert_same_files(&clean.join("baseline"), &dir);
    let _ = std::fs::remove_dir_all(&clean);
    let _ = std::fs::remove_dir_all(&cut);
}
