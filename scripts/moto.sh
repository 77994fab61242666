# Sourced by the benchmark scripts: start_moto WORK starts a moto_server
# (S3-compatible) on a free port of 127.0.0.1, logging to WORK/moto.log,
# waits until it accepts connections and puts snap-demo/hello.txt in it, as
# the S3 demos read. Sets `port` and `moto_pid`; the caller kills moto_pid.
start_moto() {
  local work=$1
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
    sleep 0.1
  done
  python3 - "$port" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
s3.create_bucket(Bucket="snap-demo")
s3.put_object(Bucket="snap-demo", Key="hello.txt", Body=b"hello from a real S3-compatible server\n")
PY
}
