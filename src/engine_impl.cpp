#include "engine_impl.hpp"

#include "engine_registry.hpp"

#include <boost/asio/error.hpp>

#include <stdexcept>
#include <string>

namespace curlasio::detail {
namespace {

namespace asio = boost::asio;

// curl_global_init is not thread-safe before 7.84 and costly; do it once.
void global_init() {
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(rc));
}

} // namespace

// ---- construction and shutdown ----------------------------------------------------

engine_impl::engine_impl(executor_type ex, const engine_options& options)
    : executor_(std::move(ex)), timer_(std::in_place, executor_), open_socket_(options.open_socket),
      watchdog_interval_(options.watchdog_interval) {
    if (watchdog_interval_.count() > 0) {
        watchdog_timer_.emplace(executor_);
        watchdog_.emplace(options.busy_wakeup_limit);
    }
    global_init();
    multi_ = curl_multi_init();
    if (!multi_)
        throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &engine_impl::socket_callback);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &engine_impl::timer_callback);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, options.multiplex ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
    if (options.max_idle_connections > 0)
        curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options.max_idle_connections);
    else
        connection_cache_ = 1; // grown in start(): see there
    if (options.max_running_transfers > 0)
        admission_.emplace(options.max_running_transfers, options.max_queued_transfers);
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

void engine_impl::context_shutdown() noexcept {
    busy_scope busy(*this);
    registry_ = nullptr;
    context_gone_.store(true, std::memory_order_release);
    drop_transfers();
    release_everything();
    descriptors_.clear(); // all released already; what is left are our duplicates
    timer_.reset();
    watchdog_timer_.reset();
}

void engine_impl::drop_transfers() noexcept {
    queued_.clear(); // each transfer_ptr frees its transfer, handler unrun
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
    handles_.clear();
    if (watchdog_timer_) {
        watchdog_timer_->cancel(); // its pending wait would keep the state (and run()) alive
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

void engine_impl::submit(transfer_ptr t, request&& req, body_sink* sink) {
    // The request travels boxed: posting moves the function object several
    // times, and a request is several hundred bytes of strings and options.
    post_busy([t = std::move(t), req = std::make_unique<request>(std::move(req)),
               sink](engine_impl& e) mutable { e.start(std::move(t), std::move(*req), sink); });
}

void engine_impl::resume_async(std::uint64_t id) {
    post_busy([id](engine_impl& e) { e.resume(id); });
}

void engine_impl::resume(std::uint64_t id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end() || shut_down_)
        return; // finished meanwhile
    // The kept chunk may be handed to the sink before this returns (and the
    // sink may pause again); libcurl then asks for a 0 ms timer, which the
    // schedule posts, so the transfer goes on reading.
    ++actions_;
    it->second->easy.unpause();
    curl_easy_pause(it->second->easy.native(), CURLPAUSE_CONT);
    after_action();
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

void engine_impl::start(transfer_ptr owned, request&& req, body_sink* sink) {
    bool admitted = false; // holds a place under the admission limit
    if (admission_ && !shut_down_) {
        const std::uint64_t id = owned->id;
        admission_queue::verdict v;
        try {
            v = admission_->submit(id, origin_of(req.url));
        } catch (...) {
            return owned.release()->complete(make_error_code(CURLE_OUT_OF_MEMORY), response{});
        }
        if (v == admission_queue::verdict::rejected) {
            response r;
            r.error_message = make_error_code(errc::queue_full).message();
            return owned.release()->complete(errc::queue_full, std::move(r));
        }
        if (v == admission_queue::verdict::queued) {
            queued_fetch* q = nullptr;
            try {
                q = &queued_.try_emplace(id).first->second;
            } catch (...) {
                admission_->cancel(id);
                return owned.release()->complete(make_error_code(CURLE_OUT_OF_MEMORY), response{});
            }
            q->t = std::move(owned);
            q->req = std::move(req);
            q->sink = sink;
            return;
        }
        admitted = true;
    }
    if (!launch(std::move(owned), std::move(req), sink) && admitted)
        admit_next();
}

void engine_impl::admit_next() {
    if (!admission_)
        return;
    // A loop, not recursion: each refused launch frees the place again.
    while (auto id = admission_->finished()) {
        auto node = queued_.extract(*id);
        if (!node)
            continue; // cannot happen: the queue and the map are kept together
        queued_fetch& q = node.mapped();
        if (launch(std::move(q.t), std::move(q.req), q.sink))
            return;
    }
}

void engine_impl::abort_queued(error_code ec) {
    if (!admission_ || queued_.empty())
        return;
    std::vector<std::uint64_t> order;
    try {
        order = admission_->drain();
    } catch (...) {
        return; // out of memory: they run when their turns come, or end at shutdown
    }
    for (std::uint64_t id : order) {
        auto node = queued_.extract(id);
        response r;
        r.error_message = "operation aborted";
        node.mapped().t.release()->complete(ec, std::move(r));
    }
}

bool engine_impl::launch(transfer_ptr owned, request&& req, body_sink* sink) {
    transfer* t = owned.release(); // from here on, complete() frees it
    if (shut_down_) {
        t->complete(asio::error::operation_aborted, response{});
        return false;
    }
    if (error_code ec = t->easy.prepare(handles_.take(), std::move(req), sink)) {
        response r;
        r.error_message = t->easy.refusal_message(ec);
        t->complete(ec, std::move(r));
        return false;
    }

    if (body_source* source = t->easy.source()) {
        if (error_code ec = source->attach(weak_from_this(), t->id)) {
            response r;
            r.error_message = ec.message();
            t->complete(ec, std::move(r));
            return false;
        }
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
        t->complete(make_error_code(CURLE_OUT_OF_MEMORY), response{});
        return false;
    }
    t->added_at = actions_;
    if (CURLMcode rc = curl_multi_add_handle(multi_, h); rc != CURLM_OK) {
        transfers_.erase(t->id);
        response r;
        r.error_message = curl_multi_strerror(rc);
        t->complete(make_error_code(rc), std::move(r));
        return false;
    }
    // libcurl's own cache size is four connections per easy handle in the
    // multi (7.88) or per running transfer (8.x, conncache.c; checked on
    // 8.14.1) at the moment a connection is returned; a batch of completions
    // removes several handles before their handlers add the next transfers,
    // so the cache shrank and closed connections those would have reused
    // (100 to 800 new connections per 50 000 requests at 64 in flight). Kept
    // here at four per transfer at the busiest moment so far instead: never
    // below libcurl's own figure, and never shrinking.
    if (connection_cache_ != 0 && transfers_.size() * 4 > connection_cache_) {
        connection_cache_ = transfers_.size() * 4;
        curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(connection_cache_));
    }
    // libcurl now asks for a 0 ms timer; the posted timeout action starts it.
    start_watchdog();
    return true;
}

void engine_impl::cancel(std::uint64_t id, asio::cancellation_type type) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) {
        // Waiting for admission: nothing was sent, so any type may end it.
        if (admission_ && admission_->cancel(id)) {
            auto node = queued_.extract(id);
            response r;
            r.error_message = "operation aborted";
            node.mapped().t.release()->complete(asio::error::operation_aborted, std::move(r));
        }
        return; // or already completed: its handler gets the real result
    }
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
    abort_queued(ec); // first, or the running ones' ends would launch them
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
    t->easy.detach_source();
    response r = t->easy.take_response(result);
    bool reusable = false;
    CURL* h = t->easy.release(reusable);
    handles_.give_back(h, reusable && !shut_down_);
    if (message)
        r.error_message = message;
    else if (ec == asio::error::operation_aborted)
        r.error_message = "operation aborted";
    t->complete(ec, std::move(r));
    admit_next();
    if (transfers_.empty() && !shut_down_ && (watchdog_armed_ || !idle_parked_))
        go_idle_soon(2); // posted after the handler, which may start the next fetch
}

void engine_impl::shutdown() {
    if (shut_down_)
        return;
    shut_down_ = true; // from here on nothing new starts, and handles are not kept
    abort_all(asio::error::operation_aborted);
    release_everything();
}

} // namespace curlasio::detail
