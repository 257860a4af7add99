#include <curlasio/upload_source.hpp>

#include <curlasio/detail/engine_access.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace curlasio {
namespace detail {

// ---- a source over an asynchronous read ------------------------------------------

async_source::async_source(std::optional<std::uint64_t> size, std::size_t buffer_size)
    : size_(size), bound_(size), buffer_(std::max<std::size_t>(buffer_size, 1)) {}

error_code async_source::attach(std::weak_ptr<engine_impl> engine, std::uint64_t transfer_id) {
    if (attached_)
        return errc::upload_in_use;
    attached_ = true; // for good: a source is read once
    engine_ = std::move(engine);
    transfer_id_ = transfer_id;
    return {};
}

source_result async_source::produce(char* out, std::size_t capacity) {
    if (begin_ < end_) {
        const std::size_t n = std::min(capacity, end_ - begin_);
        std::memcpy(out, buffer_.data() + begin_, n);
        begin_ += n;
        // Read the next buffer while libcurl sends this one.
        if (begin_ == end_ && !eof_ && !error_ && !reading_)
            read_ahead();
        return {source_status::data, n, {}};
    }
    if (error_)
        return {source_status::fail, 0, error_};
    if (eof_)
        return {source_status::eof, 0, {}};
    if (!reading_)
        read_ahead();
    if (eof_)
        return {source_status::eof, 0, {}}; // a known size left no room to read into
    waiting_ = true;
    return {source_status::pause, 0, {}};
}

void async_source::read_ahead() {
    begin_ = end_ = 0;
    // A stream is never handed room for more than what remains of a known
    // size: the rest, if any, stays unread in it.
    asked_ = bound_.capacity(buffer_.size());
    if (asked_ == 0) {
        eof_ = true;
        return;
    }
    reading_ = true;
    auto engine = engine_.lock();
    if (!engine)
        return; // the transfer is gone with its engine
    auto self = shared_from_this();
    start_read(boost::asio::buffer(buffer_.data(), asked_),
               boost::asio::bind_executor(executor_of(*engine),
                                          [self](error_code ec, std::size_t n) { self->on_read(ec, n); }));
}

void async_source::on_read(error_code ec, std::size_t n) {
    reading_ = false;
    if (detached_)
        return;
    if (error_code over = bound_.on_data(n, asked_)) {
        ec = over; // none of it: what was written past the buffer is not ours to send
        n = 0;
    }
    end_ = n;
    if (ec == boost::asio::error::eof || (!ec && bound_.complete()))
        eof_ = true;
    else if (ec)
        error_ = ec; // after the bytes that came with it
    if (!waiting_)
        return;
    if (end_ == 0 && !eof_ && !error_) {
        read_ahead(); // nothing yet: read again, libcurl stays paused
        return;
    }
    waiting_ = false;
    if (auto engine = engine_.lock())
        resume_async(*engine, transfer_id_);
}

void async_source::detach() noexcept {
    detached_ = true;
    engine_.reset();
    if (reading_)
        cancel_read();
}

// ---- a file -----------------------------------------------------------------------

namespace {

class file_source final : public body_source {
public:
    file_source(int fd, std::uint64_t size) noexcept : fd_(fd), size_(size) {}
    ~file_source() { ::close(fd_); }

    std::optional<std::uint64_t> size() const override { return size_; }
    error_code attach(std::weak_ptr<engine_impl>, std::uint64_t) override {
        if (attached_)
            return errc::upload_in_use;
        attached_ = true;
        return {};
    }
    source_result produce(char* out, std::size_t capacity) override {
        for (;;) {
            const ssize_t n = ::read(fd_, out, capacity);
            if (n > 0)
                return {source_status::data, static_cast<std::size_t>(n), {}};
            if (n == 0)
                return {source_status::eof, 0, {}};
            if (errno != EINTR)
                return {source_status::fail, 0, error_code(errno, boost::system::system_category())};
        }
    }
    void detach() noexcept override {}

private:
    int fd_;
    std::uint64_t size_;
    bool attached_ = false;
};

} // namespace

std::shared_ptr<body_source> open_file_source(const std::string& path, error_code& ec) {
    ec.clear();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        ec = error_code(errno, boost::system::system_category());
        if (fd >= 0)
            ::close(fd);
        return nullptr;
    }
    try {
        return std::make_shared<file_source>(fd, static_cast<std::uint64_t>(st.st_size));
    } catch (...) {
        ::close(fd);
        throw;
    }
}

} // namespace detail

upload_source upload_source::from_file(const std::string& path) {
    error_code ec;
    upload_source s = from_file(path, ec);
    if (ec)
        throw boost::system::system_error(ec, "curlasio::upload_source::from_file: " + path);
    return s;
}

} // namespace curlasio
