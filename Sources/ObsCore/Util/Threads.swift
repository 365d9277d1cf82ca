import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A thread of its own (POSIX), for a loop that blocks in the kernel (a socket, the journal, fsync)
/// and so must not hold one of the cooperative pool's threads. The agent's modules use this and
/// ``Condition`` instead of Foundation's `Thread` and `NSCondition`, so the agent links only
/// FoundationEssentials (see BENCHMARKS.md, resident memory).
public final class OSThread: Sendable {
    private let finished = Atomic<Bool>(false)

    private init() {}

    /// Starts `body` on a new detached thread named `name` (the kernel keeps 15 bytes of it).
    @discardableResult
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> OSThread {
        let thread = OSThread()
        let context = Unmanaged.passRetained(Start(name: name, thread: thread, body: body)).toOpaque()
        #if canImport(Glibc)
            var handle = pthread_t()
        #else
            var handle: pthread_t?
        #endif
        let status = pthread_create(
            &handle, nil,
            { raw in
                #if canImport(Glibc)
                    let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                #else
                    let start = Unmanaged<Start>.fromOpaque(raw).takeRetainedValue()
                #endif
                start.run()
                return nil
            }, context)
        // Out of threads is a resource limit the agent cannot work without (one thread a source).
        precondition(status == 0, "pthread_create failed: \(status)")
        #if canImport(Glibc)
            pthread_detach(handle)
        #else
            pthread_detach(handle!)
        #endif
        return thread
    }

    /// Whether the body has returned.
    package var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Runs `body` on a thread of its own named `name` until the calling task is cancelled, then
    /// calls `stop` (which must make `body` return soon: a ``StopFlag`` its loop waits on beside
    /// its descriptors) and returns once the thread has ended. Nothing runs on a timer meanwhile.
    package static func run(name: String, _ body: @escaping @Sendable () -> Void, stop: @escaping @Sendable () -> Void)
        async
    {
        let ended = Doorbell()
        let thread = start(name: name) {
            body()
            ended.ring()
        }
        await withTaskCancellationHandler {
            await Doorbell().wait()  // rung by no one: returns when the task is cancelled
        } onCancel: {
            stop()
        }
        // Cancelled: the thread was asked to stop; wait for it to end (rung, or soon after).
        while !thread.isFinished { await ended.wait(atMost: 0.02) }
    }

    private final class Start {
        let name: String
        let thread: OSThread
        let body: @Sendable () -> Void

        init(name: String, thread: OSThread, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.thread = thread
            self.body = body
        }

        func run() {
            #if canImport(Glibc)
                // pthread_setname_np needs _GNU_SOURCE, which Swift's Glibc module lacks; this is what it does.
                let fd = open("/proc/thread-self/comm", O_WRONLY)
                if fd >= 0 {
                    let bytes = Array(name.utf8.prefix(15))
                    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    close(fd)
                }
            #else
                _ = pthread_setname_np(name)
            #endif
            body()
            thread.finished.store(true, ordering: .releasing)
        }
    }
}

/// A mutex with a condition variable whose timed waits run on the monotonic clock, so a step of
/// the wall clock neither stretches nor cuts them.
public final class Condition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(cond, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits for a signal; the caller holds the lock, and holds it again on return.
    package func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits for a signal at most `seconds`; false when the time ran out.
    package func wait(seconds: Double) -> Bool {
        #if canImport(Glibc)
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let total = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + max(0, seconds)
            var deadline = timespec(tv_sec: Int(total), tv_nsec: Int((total - total.rounded(.down)) * 1e9))
            return pthread_cond_timedwait(cond, mutex, &deadline) != ETIMEDOUT
        #else
            var relative = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
            return pthread_cond_timedwait_relative_np(cond, mutex, &relative) != ETIMEDOUT
        #endif
    }

    package func signal() { pthread_cond_signal(cond) }
    package func broadcast() { pthread_cond_broadcast(cond) }
}

/// A flag one thread sets and another reads: how a thread's loop is asked to stop.
package final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    /// A pipe whose read end becomes readable when the flag is set, so that a thread blocked in
    /// `poll` on its sockets wakes for the stop without a timeout (``wait(readable:milliseconds:)``).
    private let pipe: (read: Int32, write: Int32)

    package init() {
        var ends: [Int32] = [-1, -1]
        _ = ends.withUnsafeMutableBufferPointer { Glibc.pipe($0.baseAddress!) }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        pipe = (ends[0], ends[1])
    }

    deinit {
        close(pipe.read)
        close(pipe.write)
    }

    package var isSet: Bool { flag.load(ordering: .relaxed) }

    package func set() {
        flag.store(true, ordering: .relaxed)
        var byte: UInt8 = 1
        _ = write(pipe.write, &byte, 1)
    }

    /// Waits until `descriptor` is readable (or has an error or hang-up to report), the flag is
    /// set, or `milliseconds` pass (-1: no limit): true when the descriptor is ready and the flag
    /// is not set.
    package func wait(readable descriptor: Int32, milliseconds: Int32 = -1) -> Bool {
        var polled = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&polled, 2, milliseconds)
        return ready > 0 && polled[0].revents != 0 && !isSet
    }

    /// The descriptor that becomes readable once the flag is set, for a caller that polls several.
    package var descriptor: Int32 { pipe.read }
}
