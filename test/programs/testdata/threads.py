# Threads and a subprocess from the host's Python.
import os
import subprocess
import threading

res = []
lock = threading.Lock()


def work(i):
    s = sum(range(10000 * i))
    with lock:
        res.append(s)


ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
out = subprocess.run(["/bin/busybox", "echo", "sub"], capture_output=True, text=True).stdout
print(sorted(res), out.strip(), os.getpid() > 0)
