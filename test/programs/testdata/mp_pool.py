# Python multiprocessing: a process pool, a queue between processes and a
# lock. Its semaphores live in /dev/shm (sem_open), its pool talks over
# pipes, and its workers are forked.
import multiprocessing as mp


def square(x):
    return x * x


if __name__ == "__main__":
    with mp.Pool(2) as pool:
        print("pool", sum(pool.map(square, range(100))))
    q = mp.Queue()
    p = mp.Process(target=q.put, args=(42,))
    p.start()
    print("queue", q.get())
    p.join()
    print("exitcode", p.exitcode)
    lock = mp.Lock()
    with lock:
        print("lock ok")
