//! A program that checkpoints itself with the native engine: the fixture of
//! the native engine's tests, and a small demonstration.
//!
//! `snap-native-probe DIR [ENTRIES] [--thread|--socket|--pipe|--epoll] [--criu]`
//! builds state (a map of ENTRIES strings, a boxed closure, a thread-local,
//! a static, an open file part-read, a signal handler), checkpoints into DIR
//! and prints one JSON line on the side it finds itself on. Run it with
//! `SNAP_RESTORE_FROM=DIR` to restore (with `SNAP_PROBE_QUICK=1`, it only
//! says it is ready, for timing; with `SNAP_PROBE_HOLD=1` it stays alive
//! until stdin closes, for memory measurements; with `SNAP_PROBE_FAULTS=1`
//! it does a fixed piece of work, as a first invocation would, prints the
//! page faults the work took, from `/proc/self/stat`, and stays alive until
//! stdin closes, for its working set to be read; with
//! `SNAP_PROBE_DEEP_STACK=KIB` it uses that much more stack than it had at
//! the checkpoint).

// A test fixture: a failed setup step should stop it loudly.
#![allow(clippy::expect_used)]

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn main() {
    probe::main();
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn main() {
    eprintln!("the native engine needs x86_64 Linux");
    std::process::exit(1);
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod probe {
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use snap::{CheckpointOptions, Resumed, SelfEngine};

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SIGNALLED: AtomicBool = AtomicBool::new(false);

    thread_local! {
        static LOCAL: Cell<u64> = const { Cell::new(0) };
    }

    /// Recurses with a 1 KiB frame `kib` times: that much main-thread stack.
    #[inline(never)]
    fn deep(kib: u64, depth: u64) -> u64 {
        let frame = std::hint::black_box([depth as u8; 1024]);
        if kib == 0 {
            return u64::from(frame[0]);
        }
        deep(kib - 1, depth + 1).wrapping_add(u64::from(frame[1023]))
    }

    extern "C" fn on_usr1(_: libc::c_int) {
        SIGNALLED.store(true, Ordering::SeqCst);
    }

    fn digest(map: &HashMap<u64, String>, words: &[String], f: &dyn Fn(u64) -> u64) -> u64 {
        let mut sum = 0u64;
        for (k, v) in map {
            sum = sum.wrapping_add(k.wrapping_mul(31) ^ v.len() as u64);
        }
        for w in words {
            sum = sum.wrapping_add(w.bytes().map(u64::from).sum::<u64>());
        }
        sum ^ f(7) ^ COUNTER.load(Ordering::SeqCst) ^ LOCAL.with(Cell::get)
    }

    /// This process's minor and major page faults so far, from the 10th and
    /// 12th fields of `/proc/self/stat` after the command name. Read into a
    /// buffer on the stack, so that the reading takes no fault of its own
    /// beyond the ones it takes every time.
    fn faults() -> (u64, u64) {
        let mut buf = [0u8; 1024];
        let mut file = std::fs::File::open("/proc/self/stat").expect("open /proc/self/stat");
        let n = file.read(&mut buf).expect("read /proc/self/stat");
        let text = std::str::from_utf8(&buf[..n]).expect("stat is text");
        let after_name = text.rsplit(')').next().expect("stat has a name");
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |i: usize| fields[i].parse::<u64>().expect("a count");
        // state is field 3 of the file, the first after the name: minflt is
        // the file's 10th, majflt its 12th.
        (field(10 - 3), field(12 - 3))
    }

    pub(super) fn main() {
        snap::init();
        // Descriptors inherited from whoever started us are not ours to keep.
        // SAFETY: the probe has opened nothing of its own yet.
        unsafe { snap::sandbox::close_inherited() };
        let args: Vec<String> = std::env::args().collect();
        let dir = args
            .get(1)
            .cloned()
            .unwrap_or_else(|| "snap-native-probe.snap".into());
        let entries: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
        let flag = |name: &str| args.iter().any(|a| a == name);

        let map: HashMap<u64, String> = (0..entries).map(|i| (i, format!("value-{i}"))).collect();
        // Written by the work of SNAP_PROBE_FAULTS after a restore.
        let mut scratch = vec![1u8; 1 << 20];
        let words: Vec<String> = ["snap", "restores", "this"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let salt = entries * 3 + 1;
        let closure: Box<dyn Fn(u64) -> u64> = Box::new(move |x| x * salt);
        COUNTER.store(7, Ordering::SeqCst);
        LOCAL.with(|l| l.set(42));
        let path = std::path::PathBuf::from(format!("{dir}.data"));
        std::fs::write(&path, "first\nsecond\nthird\n").expect("write the data file");
        let mut file = std::fs::File::open(&path).expect("open the data file");
        let mut first = [0u8; 6];
        file.read_exact(&mut first).expect("read the first line");
        // SAFETY: installs a handler that only stores to an atomic.
        unsafe { libc::signal(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t) };

        let _thread = flag("--thread")
            .then(|| std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(30))));
        let _socket =
            flag("--socket").then(|| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind"));
        let _pipe = flag("--pipe").then(|| std::io::pipe().expect("pipe"));
        // SAFETY: epoll_create1 has no preconditions.
        let _epoll = flag("--epoll").then(|| unsafe { libc::epoll_create1(0) });

        let before = digest(&map, &words, &*closure);
        let engine = if flag("--criu") {
            SelfEngine::Criu
        } else {
            SelfEngine::Native
        };
        let checkpoint_started = std::time::Instant::now();
        match snap::checkpoint(&CheckpointOptions::new(&dir).with_engine(engine)) {
            Ok(Resumed::Checkpointed(snapshot)) => {
                println!(
                    "{{\"side\":\"checkpointed\",\"digest\":{before},\"generation\":{},\"dir\":\"{}\",\"checkpoint_ms\":{:.3}}}",
                    snap::generation(),
                    snapshot.dir().display(),
                    checkpoint_started.elapsed().as_secs_f64() * 1000.0
                );
            }
            Ok(Resumed::Restored(ctx)) => {
                if let Some(kib) = std::env::var("SNAP_PROBE_DEEP_STACK")
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    // Deeper than the stack was at the checkpoint.
                    let sum = deep(kib, 0);
                    println!("{{\"side\":\"restored\",\"deep_kib\":{kib},\"sum\":{sum}}}");
                    std::process::exit(0);
                }
                if std::env::var_os("SNAP_PROBE_QUICK").is_some() {
                    // Restore-to-ready: touch nothing more than needed to say so.
                    println!(
                        "{{\"side\":\"restored\",\"generation\":{}}}",
                        ctx.generation
                    );
                    // Exit without dropping the state: freeing a million
                    // strings would touch every page the restore left lazy.
                    std::process::exit(0);
                }
                if std::env::var_os("SNAP_PROBE_FAULTS").is_some() {
                    let before = faults();
                    // Reads every entry, writes 256 pages.
                    let sum = digest(&map, &words, &*closure);
                    scratch.fill((sum & 0x7f) as u8 | 1);
                    let after = faults();
                    println!(
                        "{{\"side\":\"restored\",\"minflt\":{},\"majflt\":{},\"scratch\":{}}}",
                        after.0 - before.0,
                        after.1 - before.1,
                        scratch[4096]
                    );
                    let _ = std::io::stdout().flush();
                    let _ = std::io::stdin().read_to_end(&mut Vec::new());
                    std::process::exit(0);
                }
                let after = digest(&map, &words, &*closure);
                let mut rest = String::new();
                BufReader::new(&mut file)
                    .read_line(&mut rest)
                    .expect("read on from the offset");
                // SAFETY: raise delivers SIGUSR1 to this thread.
                unsafe { libc::raise(libc::SIGUSR1) };
                let exe = std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let marker = std::env::var("SNAP_PROBE_MARKER").unwrap_or_default();
                // What a restore started ahead leaves: stdin back on
                // /dev/null, and no gate variable.
                let stdin = std::fs::read_link("/proc/self/fd/0")
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let gate = std::env::var_os(snap::RESTORE_GATE_ENV).is_some();
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "{{\"side\":\"restored\",\"digest\":{after},\"before\":{before},\"generation\":{},\"ctx_generation\":{},\"entries\":{},\"next_line\":{:?},\"signal\":{},\"local\":{},\"counter\":{},\"exe\":{exe:?},\"marker\":{marker:?},\"stdin\":{stdin:?},\"gate_env\":{gate},\"args\":{}}}",
                    snap::generation(),
                    ctx.generation,
                    map.len(),
                    rest.trim_end(),
                    SIGNALLED.load(Ordering::SeqCst),
                    LOCAL.with(Cell::get),
                    COUNTER.load(Ordering::SeqCst),
                    ctx.args.len(),
                );
                let _ = out.flush();
                drop(out);
                if std::env::var_os("SNAP_PROBE_HOLD").is_some() {
                    // Stay alive, holding the pages read above, until stdin closes.
                    let _ = std::io::stdin().read_to_end(&mut Vec::new());
                }
            }
            Err(err) => {
                eprintln!(
                    "snap-native-probe: checkpoint failed: {}",
                    snap::chain(&err)
                );
                std::process::exit(2);
            }
        }
    }
}
