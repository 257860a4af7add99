#include <curlasio/download_stream.hpp>

#include "detail/download_flow.hpp"

#include <curlasio/detail/body_sink.hpp>
#include <curlasio/detail/engine_access.hpp>
#include <curlasio/detail/transfer.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

namespace curlasio::detail {

namespace asio = boost::asio;

namespace {

// Hands `h` its result on its associated executor (by default `ex`),
// never inline: posted to `ex`, then dispatched to the handler's executor
// (which post keeps busy meanwhile).
template <typename Handler, typename... Args>
void post_completion(const engine::executor_type& ex, Handler h, Args... args) {
    auto hex = asio::get_associated_executor(h, ex);
    asio::post(ex,
               asio::bind_executor(std::move(hex), [h = std::move(h), ... args = std::move(args)]() mutable {
                   asio::get_associated_cancellation_slot(h).clear();
                   std::move(h)(args...);
               }));
}

} // namespace

// One stream's state, shared by the stream object, its transfer and the
// posted operations. Lives on the engine's executor: every member function
// but the constructor runs there (the operations post to it; the sink
// callbacks run inside libcurl there).
class download_state final : public std::enable_shared_from_this<download_state> {
public:
    download_state(engine& eng, std::size_t limit)
        : executor_(eng.get_executor()), engine_(engine_access::impl(eng)), limit_(limit), flow_(limit) {}

    const engine::executor_type& executor() const noexcept { return executor_; }

    void open(request req, open_handler h);
    void read(const read_buffers& b, std::size_t count, read_handler h, std::uint64_t seq);
    void cancel_open(asio::cancellation_type type);
    void cancel_read(std::uint64_t seq, asio::cancellation_type type);
    void close();

    std::uint64_t next_read() noexcept { return next_read_.fetch_add(1, std::memory_order_relaxed); }
    const response& result() const noexcept { return result_; }
    std::size_t held() const noexcept { return flow_.held(); }
    std::uint64_t pauses() const noexcept { return flow_.pauses(); }

    // ---- from transfer `id` (inside the engine); a transfer the stream
    // left (closed, or reopened since) is not listened to ----
    error_code on_head(std::uint64_t id, const head_view& head);
    sink_result consume(std::uint64_t id, std::string_view chunk);
    void on_complete(std::uint64_t id, error_code ec, response r);
    void on_destroyed(std::uint64_t id) noexcept;

private:
    class stream_transfer;

    void deliver();
    void complete_open(error_code ec);
    void complete_read(error_code ec, std::size_t n);
    void abort_transfer(asio::cancellation_type type);

    engine::executor_type executor_;
    std::weak_ptr<engine_impl> engine_;
    std::size_t limit_;
    download_flow flow_;
    std::atomic<std::uint64_t> next_read_{1};

    // The transfer: running while transfer_id_ is set.
    std::optional<std::uint64_t> transfer_id_;
    bool finished_ = false; // the transfer of the last open ended
    error_code final_ec_;
    response result_;

    // Body bytes held for the reader: data_[begin_, end).
    std::string data_;
    std::size_t begin_ = 0;

    std::optional<open_handler> open_;
    struct pending_read {
        read_handler handler;
        read_buffers buffers;
        std::size_t count;
        std::uint64_t seq;
    };
    std::optional<pending_read> read_;
};

// The engine's view of one transfer of the stream: its sink and its
// completion, both passed on to the state with the transfer's id.
class download_state::stream_transfer final : public transfer, public body_sink {
public:
    stream_transfer(std::uint64_t id, std::shared_ptr<download_state> s)
        : transfer(id), state_(std::move(s)) {}
    error_code on_head(const head_view& head) override { return state_->on_head(id, head); }
    sink_result consume(std::string_view chunk) override { return state_->consume(id, chunk); }
    void complete(error_code ec, response&& r) noexcept override {
        auto s = std::move(state_);
        const std::uint64_t my_id = id;
        delete this;
        s->on_complete(my_id, ec, std::move(r));
    }
    void destroy() noexcept override {
        auto s = std::move(state_);
        const std::uint64_t my_id = id;
        delete this;
        s->on_destroyed(my_id);
    }

private:
    std::shared_ptr<download_state> state_;
};

void download_state::open(request req, open_handler h) {
    if (open_ || transfer_id_)
        return post_completion(executor_, std::move(h), make_error_code(errc::operation_in_progress),
                               response{});
    auto engine = engine_.lock();
    if (!engine)
        return post_completion(executor_, std::move(h), make_error_code(errc::engine_moved_from), response{});
    // A new transfer: what the last one left is gone.
    finished_ = false;
    final_ec_.clear();
    result_ = response{};
    data_.clear();
    begin_ = 0;
    flow_ = download_flow(limit_);
    open_.emplace(std::move(h));
    const std::uint64_t id = next_transfer_id(*engine);
    transfer_id_ = id;
    auto* t = new stream_transfer(id, shared_from_this());
    submit(*engine, transfer_ptr(t), std::move(req), t);
}

error_code download_state::on_head(std::uint64_t id, const head_view& head) {
    if (transfer_id_ != id)
        return {};
    result_.status = head.status;
    result_.reason.assign(head.reason);
    result_.headers = head.headers;
    result_.version = head.version;
    result_.effective_url.assign(head.effective_url);
    complete_open({});
    return {};
}

sink_result download_state::consume(std::uint64_t id, std::string_view chunk) {
    if (transfer_id_ != id) // left: its abort is on its way
        return {sink_status::fail, asio::error::operation_aborted};
    if (!flow_.offer(chunk.size()))
        return {sink_status::pause, {}};
    if (begin_ == data_.size()) {
        data_.clear();
        begin_ = 0;
    } else if (begin_ > data_.size() / 2) {
        data_.erase(0, begin_);
        begin_ = 0;
    }
    data_.append(chunk);
    deliver();
    return {};
}

void download_state::on_complete(std::uint64_t id, error_code ec, response r) {
    if (transfer_id_ != id)
        return;
    transfer_id_.reset();
    finished_ = true;
    final_ec_ = ec;
    // The head told earlier is the same; the final response adds the rest.
    r.body.clear();
    result_ = std::move(r);
    if (open_) {
        // Ended before its head was told: a failure, or a body-less answer.
        auto h = std::move(*open_);
        open_.reset();
        response head = result_;
        post_completion(executor_, std::move(h), ec, std::move(head));
    }
    deliver();
}

void download_state::on_destroyed(std::uint64_t id) noexcept {
    // The execution context is going away: its handlers are destroyed
    // uncalled, and so are ours.
    if (transfer_id_ != id)
        return;
    transfer_id_.reset();
    finished_ = true;
    final_ec_ = asio::error::operation_aborted;
    open_.reset();
    read_.reset();
}

void download_state::complete_open(error_code ec) {
    if (!open_)
        return;
    auto h = std::move(*open_);
    open_.reset();
    post_completion(executor_, std::move(h), ec, result_);
}

void download_state::read(const read_buffers& b, std::size_t count, read_handler h, std::uint64_t seq) {
    if (read_)
        return post_completion(executor_, std::move(h), make_error_code(errc::operation_in_progress),
                               std::size_t(0));
    std::size_t wanted = 0;
    for (std::size_t i = 0; i < count; ++i)
        wanted += b[i].size();
    if (wanted == 0)
        return post_completion(executor_, std::move(h), error_code(), std::size_t(0));
    if (!transfer_id_ && !finished_)
        return post_completion(executor_, std::move(h), make_error_code(errc::stream_not_open),
                               std::size_t(0));
    read_.emplace(pending_read{std::move(h), b, count, seq});
    deliver();
}

// Completes the pending read with what is held, or with the end.
void download_state::deliver() {
    if (!read_)
        return;
    if (begin_ < data_.size()) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < read_->count && begin_ < data_.size(); ++i) {
            const std::size_t k = std::min(read_->buffers[i].size(), data_.size() - begin_);
            if (k == 0)
                continue; // an empty element of the sequence may have a null data()
            std::memcpy(read_->buffers[i].data(), data_.data() + begin_, k);
            begin_ += k;
            n += k;
        }
        const bool resume = flow_.taken(n);
        complete_read({}, n);
        if (resume && transfer_id_)
            if (auto engine = engine_.lock())
                resume_async(*engine, *transfer_id_);
        return;
    }
    if (finished_)
        complete_read(final_ec_ ? final_ec_ : error_code(asio::error::eof), 0);
}

void download_state::complete_read(error_code ec, std::size_t n) {
    auto r = std::move(*read_);
    read_.reset();
    post_completion(executor_, std::move(r.handler), ec, n);
}

void download_state::abort_transfer(asio::cancellation_type type) {
    if (!transfer_id_)
        return;
    if (auto engine = engine_.lock())
        cancel_async(*engine, *transfer_id_, type);
}

void download_state::cancel_open(asio::cancellation_type type) {
    if (open_)
        abort_transfer(type); // the open then completes with operation_aborted
}

void download_state::cancel_read(std::uint64_t seq, asio::cancellation_type type) {
    if (!read_ || read_->seq != seq)
        return; // completed meanwhile
    if ((type & asio::cancellation_type::terminal) != asio::cancellation_type::none) {
        abort_transfer(asio::cancellation_type::terminal);
        if (transfer_id_)
            return; // the read completes with the transfer, aborted
    }
    complete_read(asio::error::operation_aborted, 0);
}

void download_state::close() {
    // Done with it: the transfer is aborted and no longer listened to, what
    // is held is dropped, pending operations end now, later reads fail.
    abort_transfer(asio::cancellation_type::terminal);
    const bool was_open = transfer_id_.has_value();
    transfer_id_.reset();
    data_.clear();
    begin_ = 0;
    if (was_open) {
        finished_ = true;
        final_ec_ = asio::error::operation_aborted;
        result_.error_message = "operation aborted";
    }
    if (open_) {
        auto h = std::move(*open_);
        open_.reset();
        response r;
        r.error_message = "operation aborted";
        post_completion(executor_, std::move(h), error_code(asio::error::operation_aborted), std::move(r));
    }
    if (read_)
        complete_read(asio::error::operation_aborted, 0);
}

// ---- the entry points -------------------------------------------------------------

std::shared_ptr<download_state> make_download_state(engine& eng, std::size_t buffer_limit) {
    return std::make_shared<download_state>(eng, buffer_limit);
}

void stream_open(const std::shared_ptr<download_state>& s, request req, open_handler h) {
    asio::post(s->executor(), [s, req = std::move(req), h = std::move(h)]() mutable {
        s->open(std::move(req), std::move(h));
    });
}

void stream_read(const std::shared_ptr<download_state>& s, const read_buffers& b, std::size_t count,
                 read_handler h, std::uint64_t seq) {
    asio::post(s->executor(),
               [s, b, count, h = std::move(h), seq]() mutable { s->read(b, count, std::move(h), seq); });
}

void stream_cancel_open(const std::weak_ptr<download_state>& w, asio::cancellation_type type) {
    if (auto s = w.lock())
        asio::post(s->executor(), [s, type] { s->cancel_open(type); });
}

void stream_cancel_read(const std::weak_ptr<download_state>& w, std::uint64_t seq,
                        asio::cancellation_type type) {
    if (auto s = w.lock())
        asio::post(s->executor(), [s, seq, type] { s->cancel_read(seq, type); });
}

void stream_close(const std::shared_ptr<download_state>& s) noexcept {
    try {
        asio::post(s->executor(), [s] { s->close(); });
    } catch (...) {
        // out of memory: the transfer runs to its end, then frees the state
    }
}

std::uint64_t stream_next_read(download_state& s) noexcept { return s.next_read(); }
const response& stream_result(const download_state& s) noexcept { return s.result(); }
std::size_t stream_held(const download_state& s) noexcept { return s.held(); }
std::uint64_t stream_pauses(const download_state& s) noexcept { return s.pauses(); }

void fail_stream_op(const engine::executor_type& ex, open_handler h, errc e) {
    response r;
    r.error_message = make_error_code(e).message();
    post_completion(ex, std::move(h), make_error_code(e), std::move(r));
}

void fail_stream_op(const engine::executor_type& ex, read_handler h, errc e) {
    post_completion(ex, std::move(h), make_error_code(e), std::size_t(0));
}

} // namespace curlasio::detail
