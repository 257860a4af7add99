#ifndef CURLASIO_UPLOAD_SOURCE_HPP
#define CURLASIO_UPLOAD_SOURCE_HPP

/// @file
/// curlasio::upload_source: a request body read while the transfer runs.

// curlasio::upload_source: a request body produced while the transfer runs,
// read from an Asio read stream, a file or a function of the caller's, and
// sent as it comes (request::upload). libcurl asks for bytes; when none are
// ready the transfer pauses (CURL_READFUNC_PAUSE) and the source's next
// read resumes it, so a slow source holds the upload, never memory.

#include <curlasio/detail/body_source.hpp>
#include <curlasio/detail/upload_bound.hpp>
#include <curlasio/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace curlasio {

namespace detail {

/// A source over an asynchronous read: reads one buffer ahead of libcurl,
/// pauses the transfer while a read is outstanding and resumes it when the
/// read completes. Everything but start_read/cancel_read runs on the
/// engine's executor.
class async_source : public body_source, public std::enable_shared_from_this<async_source> {
public:
    using read_handler = boost::asio::any_completion_handler<void(error_code, std::size_t)>;

    async_source(std::optional<std::uint64_t> size, std::size_t buffer_size);

    std::optional<std::uint64_t> size() const override { return size_; }
    error_code attach(std::weak_ptr<engine_impl> engine, std::uint64_t transfer_id) override;
    source_result produce(char* buffer, std::size_t capacity) override;
    void detach() noexcept override;

protected:
    ~async_source() = default;
    /// Starts one read into `buffer` on the stream's executor; `done` runs
    /// on the engine's executor.
    virtual void start_read(boost::asio::mutable_buffer buffer, read_handler done) = 0;
    /// Cancels the read in progress (on the stream's executor).
    virtual void cancel_read() noexcept = 0;

private:
    void read_ahead();
    void on_read(error_code ec, std::size_t n);

    std::optional<std::uint64_t> size_;
    upload_bound bound_; // what the stream delivered, within size_
    std::vector<char> buffer_;
    std::size_t asked_ = 0;           // room the read in progress was given
    std::size_t begin_ = 0, end_ = 0; // unread bytes of buffer_
    std::weak_ptr<engine_impl> engine_;
    std::uint64_t transfer_id_ = 0;
    error_code error_;
    bool attached_ = false;
    bool detached_ = false;
    bool reading_ = false;
    bool waiting_ = false; // libcurl was told to pause: resume when the read ends
    bool eof_ = false;
};

/// Over a stream held by reference (Ref: Stream&) or owned (Ref: Stream).
template <typename Stream, typename Ref>
class stream_source final : public async_source {
public:
    template <typename S>
    stream_source(S&& s, std::optional<std::uint64_t> size, std::size_t buffer_size)
        : async_source(size, buffer_size), stream_(std::forward<S>(s)) {}

private:
    void start_read(boost::asio::mutable_buffer buffer, read_handler done) override {
        auto self = std::static_pointer_cast<stream_source>(shared_from_this());
        boost::asio::post(stream_.get_executor(), [self, buffer, done = std::move(done)]() mutable {
            self->stream_.async_read_some(
                buffer, boost::asio::bind_cancellation_slot(self->cancel_.slot(), std::move(done)));
        });
    }
    void cancel_read() noexcept override {
        try {
            auto self = std::static_pointer_cast<stream_source>(shared_from_this());
            boost::asio::post(stream_.get_executor(),
                              [self] { self->cancel_.emit(boost::asio::cancellation_type::terminal); });
        } catch (...) {
            // out of memory: the read ends when the stream does
        }
    }

    Ref stream_;
    boost::asio::cancellation_signal cancel_;
};

/// A stream whose reads are a function of the caller's.
template <typename Executor, typename Function>
class function_stream {
public:
    using executor_type = Executor;
    function_stream(Executor ex, Function f) : ex_(std::move(ex)), f_(std::move(f)) {}
    executor_type get_executor() const noexcept { return ex_; }
    // `done` may be called on any thread, or before f returns: the handler
    // is posted (through ex_) to its associated executor, the engine's:
    // never run on the caller's thread nor inside f. Its cancellation slot is kept, so
    // f can see the source being detached (done.get_cancellation_slot()).
    template <typename Handler>
    void async_read_some(const boost::asio::mutable_buffer& b, Handler&& h) {
        auto slot = boost::asio::get_associated_cancellation_slot(h);
        f_(b, boost::asio::any_completion_handler<void(error_code, std::size_t)>(
                  boost::asio::bind_cancellation_slot(
                      slot, [ex = ex_, h = std::forward<Handler>(h)](error_code ec, std::size_t n) mutable {
                          boost::asio::post(ex, boost::asio::append(std::move(h), ec, n));
                      })));
    }

private:
    Executor ex_;
    Function f_;
};

std::shared_ptr<body_source> open_file_source(const std::string& path, error_code& ec);

} // namespace detail

/// A request body read as the transfer runs (request::upload): from an Asio
/// read stream, a function of yours that completes reads, or a file.
/// libcurl asks for bytes as it sends; when none are ready the transfer
/// pauses and the source's next read resumes it. A source feeds one
/// transfer and cannot be rewound.
///
/// @see @ref md_doc_streaming "Streaming bodies"
class upload_source {
public:
    /// What each read of a stream source asks for.
    static constexpr std::size_t default_buffer_size = 64 * 1024;

    /// No source: the request's body is request::body.
    upload_source() = default;

    /// Reads the body from `stream`, an Asio AsyncReadStream (a pipe, a
    /// socket, a download_stream, anything with get_executor() and
    /// async_read_some): `asio::error::eof` ends it, any other error fails the
    /// fetch with that error. Reads run on the stream's executor, one at a
    /// time, one buffer ahead of libcurl. `size`, when known, is sent as
    /// Content-Length and bounds the body: no read is handed room for more
    /// than what remains of it, and once it is reached the body ends (the
    /// rest of the stream is not read, and an error that comes with the
    /// last bytes is not seen: the peer has the whole body). A stream that ends short of it fails
    /// the fetch with errc::upload_size_mismatch; a read that reports more
    /// bytes than its buffer holds fails it with errc::upload_overrun. So
    /// nothing past the announced length ever reaches the wire. Without a
    /// size the body goes chunked (HTTP/1.1) or as DATA frames up to the end
    /// (HTTP/2).
    ///
    /// @par Lifetimes
    /// Lifetime: an lvalue stream is read by reference and must outlive the
    /// fetch; an rvalue is moved into the source and destroyed with it.
    /// When the transfer ends before the stream does, the read in progress
    /// is cancelled through its cancellation slot.
    template <typename AsyncReadStream>
    static upload_source from_stream(AsyncReadStream&& stream,
                                     std::optional<std::uint64_t> size = std::nullopt,
                                     std::size_t buffer_size = default_buffer_size) {
        using stream_type = std::remove_cvref_t<AsyncReadStream>;
        using ref =
            std::conditional_t<std::is_lvalue_reference_v<AsyncReadStream>, stream_type&, stream_type>;
        return upload_source(std::make_shared<detail::stream_source<stream_type, ref>>(
            std::forward<AsyncReadStream>(stream), size, buffer_size));
    }

    /// Reads the body from a function of the caller's, called on `ex` as
    /// `f(asio::mutable_buffer into, asio::any_completion_handler<void(error_code,
    /// std::size_t)> done)` once per read (never twice at once): call `done`
    /// with the bytes written (and no error), with asio::error::eof at the
    /// end, or with the error that fails the fetch. `done` may be called
    /// from any thread, at once or later; the source posts back to the
    /// engine's executor. `into` is never larger than what remains of a
    /// known `size` (see from_stream). When the transfer ends first, `done`'s
    /// cancellation slot is emitted (terminal): f may stop early, and must
    /// still call `done` (its result is then ignored).
    template <typename Executor, typename Function>
    static upload_source from_function(Executor ex, Function f,
                                       std::optional<std::uint64_t> size = std::nullopt,
                                       std::size_t buffer_size = default_buffer_size) {
        return from_stream(detail::function_stream<Executor, Function>(std::move(ex), std::move(f)), size,
                           buffer_size);
    }

    /// Reads the body from the file at `path`, its size now sent as
    /// Content-Length. A file that grows before or while it is sent sends
    /// its first that many bytes only; one that shrinks fails the fetch with
    /// errc::upload_size_mismatch. The file is opened now (failure: `ec`) and read as
    /// libcurl asks for bytes, on the engine's thread (a local file's read
    /// does not wait on the network; for a file on a slow network mount,
    /// use from_stream over a stream of your own).
    static upload_source from_file(const std::string& path, error_code& ec) {
        return upload_source(detail::open_file_source(path, ec));
    }
    /// As above; throws boost::system::system_error on failure.
    static upload_source from_file(const std::string& path);

    /// From a source of the library's seam (detail::body_source): the Beast
    /// layer's body writers.
    explicit upload_source(std::shared_ptr<detail::body_source> source) noexcept
        : source_(std::move(source)) {}

    /// Whether there is a source.
    explicit operator bool() const noexcept { return source_ != nullptr; }
    /// The library's seam, for the engine.
    detail::body_source* get() const noexcept { return source_.get(); }

private:
    std::shared_ptr<detail::body_source> source_;
};

} // namespace curlasio

#endif
