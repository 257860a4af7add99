#include <curlasio/detail/engine_impl.hpp>
#include <curlasio/engine.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <unordered_set>

namespace curlasio {
namespace detail {
namespace {

namespace asio = boost::asio;

// curl_global_init is not thread-safe before 7.84 and costly; do it once.
void global_init() {
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(rc));
}

// True when the two descriptors refer to the same open file.
bool same_file(int a, int b) noexcept {
    struct stat sa {}, sb {};
    return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

} // namespace

// An execution-context service: when the context shuts down (its destructor
// runs) while engines still live, they must free their libcurl state then,
// because nothing can be posted to the context afterwards.
class engine_registry final : public asio::execution_context::service {
public:
    static inline asio::execution_context::id id;

    explicit engine_registry(asio::execution_context& ctx) : service(ctx) {}

    void add(engine_impl* e) {
        std::lock_guard lock(mutex_);
        engines_.insert(e);
    }
    void remove(engine_impl* e) noexcept {
        std::lock_guard lock(mutex_);
        engines_.erase(e);
    }

private:
    void shutdown() override {
        std::unordered_set<engine_impl*> all;
        {
            std::lock_guard lock(mutex_);
            all.swap(engines_);
        }
        for (engine_impl* e : all)
            e->context_shutdown();
    }

    std::mutex mutex_;
    std::unordered_set<engine_impl*> engines_;
};

engine_impl::engine_impl(executor_type ex, const engine_options& options)
    : executor_(std::move(ex)), timer_(std::in_place, executor_),
      open_socket_(options.open_socket), watchdog_interval_(options.watchdog_interval),
      busy_wakeup_limit_(options.busy_wakeup_limit) {
    if (watchdog_interval_.count() > 0)
        watchdog_.emplace(executor_);
    spare_handles_.reserve(max_spare_handles);
    global_init();
    multi_ = curl_multi_init();
    if (!multi_)
        throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &engine_impl::socket_callback);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &engine_impl::timer_callback);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING,
                      options.multiplex ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
    if (options.max_idle_connections > 0)
        curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options.max_idle_connections);
    if (options.max_concurrent_streams > 0)
        curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
    // Registered after the timer created the reactor, so that it is told of
    // the shutdown before the reactor is.
    registry_ = &asio::use_service<engine_registry>(asio::query(executor_, asio::execution::context));
    registry_->add(this);
}

engine_impl::~engine_impl() {
    // With transfers left, the context died first, taking the posted
    // shutdown with it: free everything, run no handler.
    if (registry_)
        registry_->remove(this);
    drop_transfers();
    release_everything();
}

template <typename F>
void engine_impl::post_busy(F f) {
    asio::post(executor_, [self = shared_from_this(), f = std::move(f)]() mutable {
        busy_scope busy(*self);
        f(*self);
    });
}

void engine_impl::context_shutdown() noexcept {
    busy_scope busy(*this);
    registry_ = nullptr;
    context_gone_.store(true, std::memory_order_release);
    drop_transfers();
    release_everything();
    descriptors_.clear(); // all released already; what is left are our duplicates
    timer_.reset();
    watchdog_.reset();
}

void engine_impl::drop_transfers() noexcept {
    for (auto& [id, t] : transfers_) {
        curl_multi_remove_handle(multi_, t->easy.native());
        t->destroy();
    }
    transfers_.clear();
}

void engine_impl::release_everything() noexcept {
    shut_down_ = true;
    if (multi_) {
        // curl_multi_cleanup closes cached connections through our callbacks;
        // the table and descriptors are still alive for it.
        curl_multi_cleanup(multi_);
        multi_ = nullptr;
    }
    for (CURL* h : spare_handles_)
        curl_easy_cleanup(h);
    spare_handles_.clear();
    if (watchdog_) {
        watchdog_->cancel(); // its pending wait would keep the state (and run()) alive
        watchdog_armed_ = false;
    }
    try {
        for (int fd : table_.held_fds())
            execute(fd, table_.on_close(fd));
        apply_timer(schedule_.reset());
    } catch (...) {
        // only allocation in held_fds(); the descriptors then close with us
    }
}

// ---- entry points from any thread --------------------------------------------

void engine_impl::submit(transfer_ptr t, request req) {
    post_busy([t = std::move(t), req = std::move(req)](engine_impl& e) mutable {
        e.start(std::move(t), std::move(req));
    });
}

void engine_impl::cancel_async(std::uint64_t id, asio::cancellation_type type) {
    post_busy([id, type](engine_impl& e) { e.cancel(id, type); });
}

void engine_impl::cancel_all_async() {
    post_busy([](engine_impl& e) { e.abort_all(asio::error::operation_aborted); });
}

void engine_impl::close() noexcept {
    if (context_gone())
        return;
    // Inside our own code on this thread (a libcurl callback is on the
    // stack): libcurl refuses to be cleaned up from there. Elsewhere, at
    // once if no other thread is inside: the connections close now, as a
    // socket's do in its destructor, even while nothing runs the executor.
    if (owner_.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
        std::unique_lock lock(busy_, std::try_to_lock);
        if (lock.owns_lock()) {
            owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
            shutdown();
            owner_.store(std::thread::id(), std::memory_order_relaxed);
            return;
        }
    }
    try {
        post_busy([](engine_impl& e) { e.shutdown(); });
    } catch (...) {
        // Out of memory: the state is freed with its last reference instead.
    }
}

// ---- transfers ----------------------------------------------------------------

void engine_impl::start(transfer_ptr owned, request req) {
    transfer* t = owned.release(); // from here on, complete() frees it
    if (shut_down_)
        return t->complete(asio::error::operation_aborted, response{});
    if (error_code ec = t->easy.prepare(take_handle(), std::move(req))) {
        response r;
        r.error_message = ec.message();
        return t->complete(ec, std::move(r));
    }

    if (idle_parked_)
        unpark_idle_connections();
    CURL* h = t->easy.native();
    t->easy.count_activity_in(&activity_);
    curl_easy_setopt(h, CURLOPT_PRIVATE, t);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &engine_impl::open_callback);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, &engine_impl::close_callback);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, this);

    try {
        transfers_.emplace(t->id, t);
    } catch (...) {
        return t->complete(make_error_code(CURLE_OUT_OF_MEMORY), response{});
    }
    t->added_at = actions_;
    if (CURLMcode rc = curl_multi_add_handle(multi_, h); rc != CURLM_OK) {
        transfers_.erase(t->id);
        response r;
        r.error_message = curl_multi_strerror(rc);
        return t->complete(make_error_code(rc), std::move(r));
    }
    // libcurl now asks for a 0 ms timer; the posted timeout action starts it.
    start_watchdog();
}

void engine_impl::cancel(std::uint64_t id, asio::cancellation_type type) {
    auto it = transfers_.find(id);
    if (it == transfers_.end())
        return; // already completed: its handler gets the real result
    // total ("no apparent side effects") only while libcurl has not yet run
    // the transfer; terminal and partial at any stage.
    constexpr auto any_stage = asio::cancellation_type::terminal | asio::cancellation_type::partial;
    if ((type & any_stage) == asio::cancellation_type::none &&
        ((type & asio::cancellation_type::total) == asio::cancellation_type::none ||
         it->second->added_at != actions_))
        return;
    finish(it->second, asio::error::operation_aborted, CURLE_ABORTED_BY_CALLBACK);
}

void engine_impl::abort_all(error_code ec) {
    std::vector<transfer*> all;
    all.reserve(transfers_.size());
    for (auto& [id, t] : transfers_)
        all.push_back(t);
    for (transfer* t : all)
        finish(t, ec, CURLE_ABORTED_BY_CALLBACK);
}

void engine_impl::fail_later(CURL* easy, error_code ec, const char* message) {
    void* p = nullptr;
    if (!easy || curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p) != CURLE_OK || !p)
        return;
    post_busy([id = static_cast<transfer*>(p)->id, ec, message](engine_impl& e) {
        auto it = e.transfers_.find(id);
        if (it != e.transfers_.end())
            e.finish(it->second, ec, CURLE_ABORTED_BY_CALLBACK, message);
    });
}

void engine_impl::finish(transfer* t, error_code ec, CURLcode result, const char* message) {
    transfers_.erase(t->id);
    curl_multi_remove_handle(multi_, t->easy.native());
    response r = t->easy.take_response(result);
    recycle(t);
    if (message)
        r.error_message = message;
    else if (ec == asio::error::operation_aborted)
        r.error_message = "operation aborted";
    t->complete(ec, std::move(r));
    if (transfers_.empty() && !shut_down_ && (watchdog_armed_ || !idle_parked_))
        go_idle_soon(2); // posted after the handler, which may start the next fetch
}

CURL* engine_impl::take_handle() noexcept {
    if (spare_handles_.empty())
        return curl_easy_init();
    CURL* h = spare_handles_.back();
    spare_handles_.pop_back();
    return h;
}

void engine_impl::recycle(transfer* t) noexcept {
    bool reusable = false;
    CURL* h = t->easy.release(reusable);
    if (!h)
        return;
    if (reusable && !shut_down_ && spare_handles_.size() < max_spare_handles) {
        curl_easy_reset(h);
        spare_handles_.push_back(h); // capacity reserved in the constructor: no throw
        return;
    }
    curl_easy_cleanup(h);
}

void engine_impl::shutdown() {
    if (shut_down_)
        return;
    shut_down_ = true; // from here on nothing new starts, and handles are not kept
    abort_all(asio::error::operation_aborted);
    release_everything();
}

// ---- the loop --------------------------------------------------------------------

void engine_impl::socket_action(curl_socket_t fd, int events) {
    if (shut_down_)
        return;
    int running = 0;
    ++actions_;
    curl_multi_socket_action(multi_, fd, events, &running);
    after_action();
}

// What every call that lets libcurl run transfers is followed by.
void engine_impl::after_action() {
    if (callback_failed_) {
        callback_failed_ = false;
        abort_all(make_error_code(CURLE_OUT_OF_MEMORY));
    }
    drain_messages();
}

void engine_impl::drain_messages() {
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &queued)) {
        if (m->msg != CURLMSG_DONE)
            continue;
        void* p = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
        auto* t = static_cast<transfer*>(p);
        CURLcode result = m->data.result; // m is invalid after remove_handle
        finish(t, t->easy.result_error(result), result);
    }
}

void engine_impl::on_wait(int fd, wait_kind kind, std::uint64_t generation, const error_code& ec) {
    const bool aborted = ec == asio::error::operation_aborted;
    wait_outcome w = table_.on_wait_done(fd, kind, generation, aborted, ec && !aborted);
    if (shut_down_)
        return;
    if (w.idle_readable)
        return retire_idle(fd);
    if (!w.act)
        return;
    socket_action(fd, w.events);
    if (shut_down_)
        return;
    if (watchdog_ && activity_ == activity_at_tick_) {
        // No byte has arrived since the last watchdog look: count wake-ups,
        // and stop re-arming a socket that fires on and on for nothing.
        if (static_cast<std::size_t>(fd) >= idle_wakeups_.size())
            idle_wakeups_.resize(static_cast<std::size_t>(fd) + 1);
        if (++idle_wakeups_[fd] > busy_wakeup_limit_) {
            idle_wakeups_[fd] = 0;
            // Bytes sent are progress too (a fast upload wakes on writes
            // alone). Summed only here, once per busy_wakeup_limit idle
            // wake-ups: a socket that spins for nothing is caught on the
            // next round.
            const std::uint64_t sent = bytes_sent();
            if (sent == sent_at_check_) {
                suspended_.push_back(fd);
                busy_suspended_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            sent_at_check_ = sent;
        }
    }
    execute(fd, table_.rearm(fd));
}

std::uint64_t engine_impl::bytes_sent() const noexcept {
    std::uint64_t sum = 0;
    for (const auto& [id, t] : transfers_) {
        curl_off_t sent = 0;
        curl_easy_getinfo(t->easy.native(), CURLINFO_SIZE_UPLOAD_T, &sent);
        sum += static_cast<std::uint64_t>(sent);
    }
    return sum;
}

// libcurl 7.88 takes a readable idle connection for alive unless a peek
// reads 0 (its close). Shut our duplicate down and drain what is pending:
// libcurl's check then sees the end, drops the connection and opens a new
// one. Data arriving after the shutdown resets the connection.
void engine_impl::retire_idle(int fd) {
    table_.retire_idle(fd);
    if (!has_descriptor(fd))
        return;
    const int dup = descriptors_[fd]->native_handle();
    ::shutdown(dup, SHUT_RDWR);
    char sink[16384];
    std::size_t stray = 0;
    for (int i = 0; i < 64; ++i) { // bounded: at most 1 MiB per wake-up
        const ssize_t n = ::recv(dup, sink, sizeof sink, MSG_DONTWAIT);
        if (n <= 0)
            break;
        stray += static_cast<std::size_t>(n);
    }
    if (stray)
        stray_closed_.fetch_add(1, std::memory_order_relaxed);
}

void engine_impl::execute(int fd, const socket_decision& d) {
    if (d.cancel && has_descriptor(fd)) {
        error_code ignored;
        descriptors_[fd]->cancel(ignored);
    }
    if (d.release && has_descriptor(fd))
        descriptors_[fd].reset(); // closes our duplicate, never libcurl's fd
    if (d.open) {
        if (static_cast<std::size_t>(fd) >= descriptors_.size())
            descriptors_.resize(static_cast<std::size_t>(fd) + 1);
        descriptors_[fd].reset();
        // Out of descriptors: the caller sees no descriptor and decides.
        const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0)
            return;
        try {
            descriptors_[fd] = std::make_unique<descriptor>(executor_, dup);
        } catch (...) {
            ::close(dup);
            callback_failed_ = true;
            return;
        }
    }
    if (d.arm_read)
        arm(fd, wait_kind::read, d.generation);
    if (d.arm_write)
        arm(fd, wait_kind::write, d.generation);
}

void engine_impl::arm(int fd, wait_kind kind, std::uint64_t generation) {
    descriptor* desc = descriptors_[fd].get();
    if (!desc)
        return;
    desc->async_wait(kind == wait_kind::read ? descriptor::wait_read : descriptor::wait_write,
                     [self = shared_from_this(), fd, kind, generation](const error_code& ec) {
                         busy_scope busy(*self);
                         self->on_wait(fd, kind, generation, ec);
                     });
}

void engine_impl::apply_timer(const timer_decision& d) {
    if (!timer_)
        return; // the context has shut down
    if (d.cancel)
        timer_->cancel();
    if (d.arm) {
        timer_->expires_after(std::chrono::milliseconds(d.milliseconds));
        timer_->async_wait([self = shared_from_this(), g = d.generation](const error_code& ec) {
            busy_scope busy(*self);
            if (self->schedule_.on_fired(g, ec == asio::error::operation_aborted))
                self->socket_action(CURL_SOCKET_TIMEOUT, 0);
        });
    }
    if (d.post)
        post_busy([g = d.generation](engine_impl& e) {
            if (e.schedule_.on_fired(g, false))
                e.socket_action(CURL_SOCKET_TIMEOUT, 0);
        });
}

// ---- the watchdog ---------------------------------------------------------------------

void engine_impl::start_watchdog() {
    if (!watchdog_ || watchdog_armed_ || shut_down_)
        return;
    watchdog_armed_ = true;
    watchdog_->expires_after(watchdog_interval_);
    watchdog_->async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec == asio::error::operation_aborted)
            return; // cancelled: whoever cancelled cleared watchdog_armed_
        busy_scope busy(*self);
        self->watchdog_armed_ = false;
        if (self->shut_down_)
            return;
        try {
            self->watchdog_tick();
        } catch (...) {
            // out of memory listing fds: look again next time
        }
        if (!self->transfers_.empty())
            self->start_watchdog();
    });
}

// Nothing to watch, and a pending wait would keep run() from returning: the
// watchdog stops, and the idle connections' waits go, once the engine has
// stayed idle for `turns` turns of the executor. A completion handler that
// starts the next fetch (the usual loop) keeps both armed, where a cancel and
// re-arm per fetch would cost syscalls.
void engine_impl::go_idle_soon(int turns) {
    post_busy([turns](engine_impl& e) {
        if (!e.transfers_.empty() || e.shut_down_)
            return;
        if (turns > 1)
            return e.go_idle_soon(turns - 1);
        if (e.watchdog_armed_) {
            e.watchdog_->cancel();
            e.watchdog_armed_ = false;
        }
        if (!e.idle_parked_) {
            e.idle_parked_ = true;
            for (int fd : e.table_.idle_fds())
                e.execute(fd, e.table_.park_idle(fd));
        }
    });
}

// The first transfer after a pause: what arrived on an idle connection while
// nothing watched it is found with one poll(), and the others are watched
// again.
void engine_impl::unpark_idle_connections() {
    idle_parked_ = false;
    std::vector<pollfd> fds;
    for (int fd : table_.idle_fds())
        if (has_descriptor(fd))
            fds.push_back({descriptors_[fd]->native_handle(), POLLIN, 0});
    if (fds.empty())
        return;
    ::poll(fds.data(), fds.size(), 0);
    std::size_t i = 0;
    for (int fd : table_.idle_fds()) {
        if (!has_descriptor(fd))
            continue;
        if (fds[i++].revents)
            retire_idle(fd);
        else
            execute(fd, table_.unpark_idle(fd));
    }
}

void engine_impl::watchdog_tick() {
    std::vector<int> resume;
    resume.swap(suspended_);
    for (int fd : resume)
        if (table_.watched(fd))
            execute(fd, table_.rearm(fd));
    std::fill(idle_wakeups_.begin(), idle_wakeups_.end(), 0);
    activity_at_tick_ = activity_;

    if (transfers_.empty() || schedule_.armed() || schedule_.posted() || any_wait_armed())
        return;
    // Transfers are running but nothing can wake the engine up again. Drive
    // every transfer once and have libcurl re-announce its sockets (what
    // curl_multi_socket_all does, deprecated only as a hot-loop primitive),
    // then arm whatever the table wants but lacks.
    stalls_kicked_.fetch_add(1, std::memory_order_relaxed);
    int running = 0;
    ++actions_;
    CURL_IGNORE_DEPRECATION(curl_multi_socket_all(multi_, &running);)
    after_action();
    if (shut_down_)
        return;
    for (int fd : table_.watched_fds())
        execute(fd, table_.rearm(fd));
}

bool engine_impl::any_wait_armed() const {
    for (int fd : table_.watched_fds())
        if (table_.armed(fd, wait_kind::read) || table_.armed(fd, wait_kind::write))
            return true;
    return false;
}

bool engine_impl::has_descriptor(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < descriptors_.size() && descriptors_[fd];
}

bool engine_impl::still_libcurls(int fd) const noexcept {
    return has_descriptor(fd) && same_file(fd, descriptors_[fd]->native_handle());
}

bool engine_impl::holds_connected(int fd) const noexcept {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    return has_descriptor(fd) &&
           ::getpeername(descriptors_[fd]->native_handle(), reinterpret_cast<sockaddr*>(&peer), &len) == 0;
}

void engine_impl::debug_lose_wakeups() {
    busy_scope busy(*this);
    for (int fd : table_.watched_fds())
        if (auto& desc = descriptors_[fd]) {
            error_code ignored;
            desc->cancel(ignored);
        }
    if (timer_)
        timer_->cancel();
}

void engine_impl::debug_watch(int fd, int what) {
    busy_scope busy(*this);
    socket_callback(nullptr, fd, what, this, nullptr);
}

// ---- libcurl callbacks: no exception may leave them ---------------------------------

int engine_impl::socket_callback(CURL* easy, curl_socket_t fd, int what, void* p, void*) noexcept {
    auto* self = static_cast<engine_impl*>(p);
    try {
        // The fd may have been closed without a word to us, its number
        // perhaps reused already. An fd libcurl opened itself: at any time;
        // libcurl passing the number now vouches for it being live, so it
        // can be compared with our duplicate. A socket of ours: before
        // libcurl 8.2.0, when it was dropped before it connected (curl
        // #11439), and then libcurl only says REMOVE, after the close. Its
        // number may belong to another thread by then, so only our own
        // duplicate is looked at: a REMOVE of a socket that is not connected
        // means libcurl is done with it either way.
        const bool stale =
            self->table_.opened_by_us(fd)
                ? what == CURL_POLL_REMOVE && self->has_descriptor(fd) && !self->holds_connected(fd)
                : what != CURL_POLL_REMOVE && self->table_.watched(fd) && !self->still_libcurls(fd);
        if (stale)
            self->execute(fd, self->table_.on_close(fd));
        // An idle HTTP/1.x connection of ours is watched for stray bytes;
        // HTTP/2's frames are libcurl's to check.
        long version = 0;
        const bool watch_idle = what == CURL_POLL_REMOVE && easy && !self->shut_down_ &&
                                curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK &&
                                version != CURL_HTTP_VERSION_2_0 && version != CURL_HTTP_VERSION_3;
        self->execute(fd, self->table_.on_poll(fd, what, watch_idle));
        if (self->table_.watched(fd) && !self->has_descriptor(fd)) {
            // No descriptor left for our duplicate: nothing could wake the
            // transfer up, so it fails now rather than at its deadline.
            self->execute(fd, self->table_.on_close(fd));
            self->fail_later(easy, make_error_code(errc::out_of_resources),
                             "out of file descriptors: cannot watch the socket");
        }
    } catch (...) {
        self->callback_failed_ = true;
    }
    return 0; // -1 would abort every transfer of the multi
}

int engine_impl::timer_callback(CURLM*, long timeout_ms, void* p) noexcept {
    auto* self = static_cast<engine_impl*>(p);
    try {
        self->apply_timer(self->schedule_.on_timer(timeout_ms));
    } catch (...) {
        self->callback_failed_ = true;
    }
    return 0;
}

curl_socket_t engine_impl::open_callback(void* p, curlsocktype purpose, curl_sockaddr* a) noexcept {
    auto* self = static_cast<engine_impl*>(p);
    int fd = CURL_SOCKET_BAD;
    try {
        fd = self->open_socket_ ? self->open_socket_(purpose, *a)
                                : ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    } catch (...) {
        fd = CURL_SOCKET_BAD;
    }
    if (fd < 0)
        return CURL_SOCKET_BAD;
    try {
        self->execute(fd, self->table_.on_open(fd));
    } catch (...) {
        ::close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

int engine_impl::close_callback(void* p, curl_socket_t fd) noexcept {
    auto* self = static_cast<engine_impl*>(p);
    try {
        // Deregister before the number can be reused.
        self->execute(fd, self->table_.on_close(fd));
    } catch (...) {
        self->callback_failed_ = true;
    }
    return ::close(fd);
}

} // namespace detail

// ---- engine ----------------------------------------------------------------------------

engine::engine(boost::asio::io_context& io, const engine_options& options)
    : engine(io.get_executor(), options) {}

engine::engine(executor_type ex, const engine_options& options)
    : executor_(ex), impl_(std::make_shared<detail::engine_impl>(std::move(ex), options)) {}

engine::engine(engine&& other) noexcept : executor_(other.executor_), impl_(std::move(other.impl_)) {}

engine& engine::operator=(engine&& other) noexcept {
    if (this != &other) {
        if (impl_)
            impl_->close();
        executor_ = other.executor_;
        impl_ = std::move(other.impl_);
    }
    return *this;
}

engine::~engine() {
    if (impl_)
        impl_->close();
}

void engine::cancel() {
    if (impl_)
        impl_->cancel_all_async();
}

engine_stats engine::stats() const noexcept { return impl_ ? impl_->stats() : engine_stats{}; }

} // namespace curlasio
