//! The fixture of snap-hooks' native-engine tests: a program that registers
//! hooks and checkpoints itself with `snap::checkpoint`, then prints one JSON
//! line on whichever side it finds itself. Restore it with
//! `SNAP_RESTORE_FROM=DIR snap-hooks-probe`.
//!
//! - `uniqueness DIR [--no-hooks]`: draws from every random source before
//!   the checkpoint, then prints fresh draws after it.
//! - `reconnect DIR PORT [--raw]`: talks to a line server on PORT through a
//!   [`snap_hooks::Rebuild`] client (or a plain `TcpStream`), before and
//!   after the checkpoint.
//! - `phases DIR [--fail-before|--fail-after]`: logs the order hooks run in.
//! - `env DIR`: reports which credentials variables a restore changed.

// A test fixture: a failed setup step should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

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
    use std::hash::BuildHasher;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::sync::{Arc, Mutex};

    use rand::Rng;
    use snap::{CheckpointError, CheckpointOptions, Resumed};
    use snap_hooks::{Hook, Rebuild};

    pub(super) fn main() {
        snap::init();
        // Descriptors inherited from whoever started the probe (a shell's, a
        // test harness's) are not its to keep across a checkpoint.
        // SAFETY: the probe has opened nothing of its own yet.
        unsafe { snap::sandbox::close_inherited() };
        let args: Vec<String> = std::env::args().collect();
        let flag = |f: &str| args.iter().any(|a| a == f);
        match args.get(1).map(String::as_str) {
            Some("uniqueness") => uniqueness(&args[2], !flag("--no-hooks")),
            Some("reconnect") => reconnect(&args[2], args[3].parse().unwrap(), flag("--raw")),
            Some("phases") => phases(&args[2], flag("--fail-before"), flag("--fail-after")),
            Some("env") => env(&args[2]),
            _ => {
                eprintln!("usage: snap-hooks-probe uniqueness|reconnect|phases DIR ...");
                std::process::exit(2);
            }
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn checkpoint(dir: &str) -> Result<Resumed, CheckpointError> {
        snap::checkpoint(&CheckpointOptions::new(dir))
    }

    fn fail(error: impl Into<Box<dyn std::error::Error + 'static>>) -> ! {
        let error = error.into();
        println!(
            "{{\"side\":\"error\",\"error\":{:?}}}",
            snap::chain(&*error)
        );
        std::process::exit(1);
    }

    fn uniqueness(dir: &str, hooks: bool) {
        if hooks {
            snap_hooks::install();
        }
        // Init: every source is used once, so its state is in the snapshot.
        let mut warm = [0u8; 16];
        rand::rng().fill(&mut warm);
        let _ = snap_hooks::instance_id();
        let _ = snap_hooks::RandomState::new();
        let _ = std::collections::hash_map::RandomState::new();
        match checkpoint(dir).unwrap_or_else(|e| fail(e)) {
            Resumed::Checkpointed(_) => println!("{{\"side\":\"checkpointed\"}}"),
            Resumed::Restored(_) => {
                let mut bytes = [0u8; 16];
                rand::rng().fill(&mut bytes);
                let floats: Vec<String> =
                    (0..3).map(|_| rand::random::<f64>().to_string()).collect();
                let ours = snap_hooks::RandomState::new().hash_one("same key");
                let std = std::collections::hash_map::RandomState::new().hash_one("same key");
                println!(
                    "{{\"side\":\"restored\",\"rand\":\"{}\",\"floats\":\"{}\",\"instance_id\":\"{:032x}\",\"random_state\":\"{ours:016x}\",\"std_random_state\":\"{std:016x}\"}}",
                    hex(&bytes),
                    floats.join(" "),
                    snap_hooks::instance_id(),
                );
            }
        }
    }

    fn ask(stream: &TcpStream, line: &str) -> std::io::Result<String> {
        let mut writer = stream;
        writer.write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply)?;
        if reply.is_empty() {
            return Err(std::io::Error::other("the server closed the connection"));
        }
        Ok(reply.trim().to_owned())
    }

    fn reconnect(dir: &str, port: u16, raw: bool) {
        let connect = move || TcpStream::connect(("127.0.0.1", port));
        if raw {
            let stream = connect().unwrap();
            let first = ask(&stream, "init").unwrap();
            match checkpoint(dir) {
                Ok(Resumed::Restored(_)) => {
                    let reply = ask(&stream, "after").unwrap_or_else(|e| fail(e));
                    println!("{{\"side\":\"restored\",\"reply\":{reply:?}}}");
                }
                Ok(Resumed::Checkpointed(_)) => {
                    println!("{{\"side\":\"checkpointed\",\"reply\":{first:?}}}")
                }
                Err(e) => fail(e),
            }
            return;
        }
        let client = Rebuild::new("echo-client", connect).unwrap();
        let first = ask(&client.get().unwrap(), "init").unwrap();
        match checkpoint(dir).unwrap_or_else(|e| fail(e)) {
            Resumed::Checkpointed(_) => {
                println!("{{\"side\":\"checkpointed\",\"reply\":{first:?}}}")
            }
            Resumed::Restored(_) => {
                let stream = client.get().unwrap_or_else(|e| fail(e.to_string()));
                let reply = ask(&stream, "after").unwrap_or_else(|e| fail(e));
                println!(
                    "{{\"side\":\"restored\",\"reply\":{reply:?},\"builds\":{}}}",
                    client.builds()
                );
            }
        }
    }

    fn env(dir: &str) {
        let changed = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = Arc::clone(&changed);
        snap_hooks::env::on_change(
            "credentials",
            snap_hooks::env::AWS_CREDENTIALS,
            move |changes| -> Result<(), std::io::Error> {
                let mut seen = seen.lock().unwrap();
                for c in changes {
                    seen.push(format!(
                        "{}:{}->{}",
                        c.name,
                        c.before.as_deref().unwrap_or("-"),
                        c.after.as_deref().unwrap_or("-")
                    ));
                }
                Ok(())
            },
        )
        .unwrap();
        match checkpoint(dir).unwrap_or_else(|e| fail(e)) {
            Resumed::Checkpointed(_) => println!("{{\"side\":\"checkpointed\"}}"),
            Resumed::Restored(_) => {
                let changed = changed.lock().unwrap().join(" ");
                println!("{{\"side\":\"restored\",\"changed\":{changed:?}}}");
            }
        }
    }

    fn phases(dir: &str, fail_before: bool, fail_after: bool) {
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        for name in ["a", "b", "c"] {
            let (l1, l2) = (Arc::clone(&log), Arc::clone(&log));
            let broken_before = fail_before && name == "b";
            let broken_after = fail_after && name == "b";
            snap_hooks::register(
                Hook::new(name)
                    .before_checkpoint(move || -> Result<(), std::io::Error> {
                        l1.lock().unwrap().push(format!("before:{name}"));
                        if broken_before {
                            return Err(std::io::Error::other("cannot flush"));
                        }
                        Ok(())
                    })
                    .after_restore(move || -> Result<(), std::io::Error> {
                        let restored = snap_hooks::resume().is_some_and(|r| r.is_restore());
                        l2.lock().unwrap().push(format!("after:{name}"));
                        if broken_after && restored {
                            return Err(std::io::Error::other("cannot reconnect"));
                        }
                        Ok(())
                    }),
            )
            .unwrap();
        }
        let result = checkpoint(dir);
        let side = match &result {
            Ok(Resumed::Checkpointed(_)) => "checkpointed",
            Ok(Resumed::Restored(_)) => "restored",
            Err(_) => "error",
        };
        let error = result.err().map(|e| snap::chain(&e)).unwrap_or_default();
        let log = log.lock().unwrap().join(" ");
        println!("{{\"side\":\"{side}\",\"log\":{log:?},\"error\":{error:?}}}");
    }
}
