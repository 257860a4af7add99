#ifndef CURLASIO_DOWNLOAD_STREAM_HPP
#define CURLASIO_DOWNLOAD_STREAM_HPP

/// @file
/// curlasio::download_stream: a response body as an Asio AsyncReadStream.

// curlasio::download_stream: a transfer whose response body is read as it
// arrives, through an Asio AsyncReadStream. async_open completes with the
// response head; async_read_some then hands out the body; its end is
// asio::error::eof. While the reader does not read, the transfer is paused
// (CURL_WRITEFUNC_PAUSE): what the stream holds is bounded, whatever the
// size of the body.

#include <curlasio/detail/progress_route.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/error.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/deferred.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace curlasio {

namespace detail {

class download_state;
using open_handler = boost::asio::any_completion_handler<void(error_code, response)>;
using read_handler = boost::asio::any_completion_handler<void(error_code, std::size_t)>;
/// At most this many buffers of a sequence are filled per read (as Asio's
/// own reactive operations do with theirs).
constexpr std::size_t max_read_buffers = 16;
using read_buffers = std::array<boost::asio::mutable_buffer, max_read_buffers>;

std::shared_ptr<download_state> make_download_state(engine& eng, std::size_t buffer_limit);
// From any thread; each posts to the engine's executor.
void stream_open(const std::shared_ptr<download_state>& s, request req, open_handler h);
void stream_read(const std::shared_ptr<download_state>& s, const read_buffers& b, std::size_t count,
                 read_handler h, std::uint64_t seq);
void stream_cancel_open(const std::weak_ptr<download_state>& s, boost::asio::cancellation_type type);
void stream_cancel_read(const std::weak_ptr<download_state>& s, std::uint64_t seq,
                        boost::asio::cancellation_type type);
void stream_close(const std::shared_ptr<download_state>& s) noexcept;
std::uint64_t stream_next_read(download_state& s) noexcept;
const response& stream_result(const download_state& s) noexcept;
std::size_t stream_held(const download_state& s) noexcept;
std::uint64_t stream_pauses(const download_state& s) noexcept;
void fail_stream_op(const engine::executor_type& ex, open_handler h, errc e);
void fail_stream_op(const engine::executor_type& ex, read_handler h, errc e);

} // namespace detail

/// A transfer's response body as an Asio AsyncReadStream: async_open sends
/// the request and completes with the final response head, then
/// async_read_some hands out the body as it arrives, pausing the transfer
/// while the reader does not read (at most the buffer limit, plus one chunk
/// of libcurl's, is held).
///
/// @see @ref md_doc_streaming "Streaming bodies"
class download_stream {
public:
    /// The engine's executor type.
    using executor_type = engine::executor_type;

    /// What the stream holds for its reader at most (plus one chunk of
    /// libcurl's, 16 KiB unless request_options::connection::buffer_size
    /// says otherwise).
    static constexpr std::size_t default_buffer_limit = 256 * 1024;

    /// A stream of `eng` (which must outlive it); not open yet.
    explicit download_stream(engine& eng, std::size_t buffer_limit = default_buffer_limit)
        : executor_(eng.get_executor()), state_(detail::make_download_state(eng, buffer_limit)) {}

    /// The moved-from stream keeps its executor and is not open.
    download_stream(download_stream&& other) noexcept
        : executor_(other.executor_), state_(std::move(other.state_)) {}
    /// Closes this stream (as close()), then takes over `other`'s transfer.
    download_stream& operator=(download_stream&& other) noexcept {
        if (this != &other) {
            close();
            executor_ = other.executor_;
            state_ = std::move(other.state_);
        }
        return *this;
    }
    /// Aborts the transfer if it still runs (as close()).
    ~download_stream() { close(); }

    /// The engine's executor: the default executor of the stream's handlers.
    executor_type get_executor() const noexcept { return executor_; }

    /// Starts the transfer `req` and waits for its response head.
    ///
    /// @par Completion signature
    /// Completion signature: `void(error_code, response)`: the response
    /// holds the status, reason, header fields, version and effective URL
    /// of the final response (no body: read it from the stream), its
    /// Content-Length only when that is what framed the body (see
    /// response::headers: never beside Transfer-Encoding), so a proxy that
    /// copies it frames the bytes it reads as libcurl did. An HTTP
    /// status of 4xx or 5xx is a success, as with async_fetch; so is a
    /// transfer that ended before its head was told (a body-less answer
    /// after an authentication challenge): its reads then end at once.
    /// A failure before the head is an error_code, with libcurl's text in
    /// response::error_message.
    ///
    /// @par Executor
    /// Executor: the handler runs on its associated executor (by default the
    /// stream's, which is the engine's), through asio::post. So do
    /// request::on_progress's calls, for the whole transfer, when that
    /// executor is not the engine's (as for async_fetch).
    ///
    /// @par Per-Operation Cancellation
    /// As async_fetch: terminal and partial abort the transfer at any stage;
    /// total only while libcurl has not yet run it.
    ///
    /// @par Lifetimes
    /// Lifetimes: `req` is taken by value. The stream may be destroyed
    /// while the operation is pending (the handler gets operation_aborted).
    ///
    /// @par Thread safety
    /// Thread safety: one operation of each kind at a time (a second open
    /// while one is pending or the transfer runs completes with
    /// errc::operation_in_progress); from any thread when the engine's
    /// executor is a strand or an io_context run by one thread. A stream
    /// whose transfer ended may be opened again.
    ///
    /// @par Exception safety
    /// If this call throws (std::bad_alloc), no transfer was started and the
    /// handler is destroyed without being called.
    template <boost::asio::completion_token_for<void(error_code, response)> CompletionToken =
                  boost::asio::deferred_t>
    auto async_open(request req, CompletionToken&& token = CompletionToken()) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, response)>(
            [this](auto handler, request req) {
                if (!state_)
                    return detail::fail_stream_op(executor_, detail::open_handler(std::move(handler)),
                                                  errc::stream_not_open);
                detail::route_progress(req, boost::asio::get_associated_executor(handler, executor_),
                                       executor_);
                // The erased handler puts a cancellation state of its own in
                // the slot: ours goes into that one's.
                detail::open_handler h(std::move(handler));
                auto slot = boost::asio::get_associated_cancellation_slot(h);
                if (slot.is_connected())
                    slot.assign(
                        [w = std::weak_ptr<detail::download_state>(state_)](
                            boost::asio::cancellation_type type) { detail::stream_cancel_open(w, type); });
                detail::stream_open(state_, std::move(req), std::move(h));
            },
            token, std::move(req));
    }

    /// Reads some of the body into `buffers` (at most the first 16 of the
    /// sequence), as soon as at least one byte is there.
    ///
    /// @par Completion signature
    /// Completion signature: `void(error_code, std::size_t)`. The end of
    /// the body is asio::error::eof (with 0 bytes); a failure mid-body is
    /// its error_code, after every byte that arrived before it. A read of
    /// zero bytes completes at once (posted) with no error.
    ///
    /// @par Executor
    /// Executor: the handler runs on its associated executor (by default the
    /// stream's), through asio::post, never inside this call.
    ///
    /// @par Per-Operation Cancellation
    /// terminal: aborts the transfer; the read (and every later one)
    /// completes with operation_aborted.
    /// partial and total: cancel this read only (operation_aborted); the
    /// bytes held stay for the next read and the transfer goes on.
    ///
    /// @par Lifetimes
    /// Lifetimes: the buffers must stay valid until the handler runs; the
    /// stream may be destroyed meanwhile (operation_aborted).
    ///
    /// @par Thread safety
    /// Thread safety: one read at a time (a second one completes with
    /// errc::operation_in_progress); as async_open otherwise.
    ///
    /// @par Exception safety
    /// If this call throws (std::bad_alloc), the read was not started and
    /// the handler is destroyed without being called.
    template <typename MutableBufferSequence, boost::asio::completion_token_for<void(error_code, std::size_t)>
                                                  CompletionToken = boost::asio::deferred_t>
    auto async_read_some(const MutableBufferSequence& buffers, CompletionToken&& token = CompletionToken()) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBufferSequence& buffers) {
                if (!state_)
                    return detail::fail_stream_op(executor_, detail::read_handler(std::move(handler)),
                                                  errc::stream_not_open);
                detail::read_buffers b;
                std::size_t count = 0;
                for (auto it = boost::asio::buffer_sequence_begin(buffers);
                     it != boost::asio::buffer_sequence_end(buffers) && count < b.size(); ++it)
                    b[count++] = boost::asio::mutable_buffer(*it);
                const std::uint64_t seq = detail::stream_next_read(*state_);
                detail::read_handler h(std::move(handler));
                auto slot = boost::asio::get_associated_cancellation_slot(h);
                if (slot.is_connected())
                    slot.assign([w = std::weak_ptr<detail::download_state>(state_),
                                 seq](boost::asio::cancellation_type type) {
                        detail::stream_cancel_read(w, seq, type);
                    });
                detail::stream_read(state_, b, count, std::move(h), seq);
            },
            token, buffers);
    }

    /// Aborts the transfer if it runs and drops what the stream holds:
    /// pending operations and later reads complete with operation_aborted
    /// (a stream whose body had been read to its end stays at eof). From
    /// any thread; the stream may be opened again at once.
    void close() noexcept {
        if (state_)
            detail::stream_close(state_);
    }

    /// The whole response of the transfer once a read has completed with
    /// eof or an error (timings, bytes received, effective URL, libcurl's
    /// error text), without the body; until then, what open delivered.
    /// Read it from the reader's own handler, not while a read is pending.
    const response& result() const noexcept {
        static const response none;
        return state_ ? detail::stream_result(*state_) : none;
    }

    /// Body bytes the stream holds for its reader now, and how many times it
    /// paused the transfer: for tests and diagnostics; read them as result().
    std::size_t held() const noexcept { return state_ ? detail::stream_held(*state_) : 0; }
    /// Times the stream paused its transfer (see held()).
    std::uint64_t pauses() const noexcept { return state_ ? detail::stream_pauses(*state_) : 0; }

private:
    executor_type executor_;
    std::shared_ptr<detail::download_state> state_;
};

} // namespace curlasio

#endif
