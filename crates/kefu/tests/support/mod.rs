//! Driving the real `kefu` binary from tests: a command in a data directory, a server on a free port that
//! is ready when `/readyz` answers, stopped with SIGTERM (graceful) or SIGKILL (a crash).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub fn kefu(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kefu"));
    command
        .env("KEFU_DATA_DIR", data_dir)
        .env_remove("KEFU_DATABASE_URL")
        .env_remove("KEFU_LISTEN")
        .env_remove("KEFU_SMTP_LISTEN")
        .current_dir(data_dir);
    command
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

pub struct Server {
    pub child: Child,
    pub base: String,
    /// Output is read as it comes (a full pipe would stall the server) and handed back by `stop`.
    stdout: JoinHandle<Vec<String>>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: JoinHandle<()>,
}

impl Server {
    pub async fn start(mut command: Command) -> Server {
        let port = free_port();
        let mut child = command
            .arg("serve")
            .env("KEFU_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEFU_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kefu serve");
        let base = format!("http://127.0.0.1:{port}");
        let out = child.stdout.take().expect("stdout");
        let stdout = std::thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).collect());
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = err.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("stderr").push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let started = Instant::now();
        loop {
            if let Ok(response) = reqwest::get(format!("{base}/readyz")).await
                && response.status() == 200
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "kefu did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, base, stdout, stderr, stderr_reader }
    }

    /// Sends SIGTERM and returns (exit success, stdout lines, stderr).
    pub fn stop(mut self) -> (bool, Vec<String>, String) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
        let started = Instant::now();
        let exit = loop {
            if let Some(exit) = self.child.try_wait().expect("wait") {
                break exit;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "kefu did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = self.stdout.join().expect("stdout reader");
        self.stderr_reader.join().expect("stderr reader");
        let stderr = self.stderr.lock().expect("stderr").clone();
        (exit.success(), stdout, stderr)
    }

    /// Kills the process with SIGKILL, as a crash or the OOM killer would: no shutdown code runs.
    pub fn crash(mut self) {
        self.child.kill().expect("SIGKILL kefu");
        self.child.wait().expect("wait for kefu");
    }
}
