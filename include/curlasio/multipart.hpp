#ifndef CURLASIO_MULTIPART_HPP
#define CURLASIO_MULTIPART_HPP

/// @file
/// curlasio::mime_part: one part of a multipart/form-data body.

// curlasio::mime_part: one part of a multipart/form-data request body
// (request::multipart), a value type. The body is built by libcurl's MIME API
// (curl_mime_*) when the transfer starts: a file part is streamed from the
// file by libcurl as it sends, never loaded into memory.

#include <string>
#include <utility>
#include <vector>

namespace curlasio {

/// One part of a multipart/form-data request body (request::add_part), a
/// value type. libcurl's MIME API builds the body when the transfer starts;
/// a file part is streamed from its file as libcurl sends, never loaded.
struct mime_part {
    /// An extra header field of the part, as (name, value).
    using header = std::pair<std::string, std::string>;

    /// The form field's name (Content-Disposition: form-data; name="...");
    /// libcurl escapes '"', CR and LF in it. May be empty (no name sent).
    std::string name;
    /// The part's bytes, when file_path is empty (any bytes, NUL included).
    std::string data;
    /// When set, the part's bytes are read from this file by libcurl while
    /// it sends (size taken when the transfer starts; a regular file is sent
    /// with its size known, anything else as it reads). A file that cannot be
    /// opened for reading fails the fetch with CURLE_READ_ERROR before
    /// anything is sent, the message naming the part and the path.
    std::string file_path;
    /// Content-Disposition's filename. Empty: none for data, the file's base
    /// name for file_path.
    std::string filename;
    /// The part's Content-Type. Empty: libcurl's choice (none for data
    /// without a filename, else guessed from the filename's extension, else
    /// application/octet-stream).
    std::string content_type;
    /// Extra header fields of the part ("Content-ID", "X-..."), in order.
    std::vector<header> headers;

    /// A field with a value: `mime_part::text("title", "hello")`.
    static mime_part text(std::string name, std::string value, std::string content_type = {}) {
        mime_part p;
        p.name = std::move(name);
        p.data = std::move(value);
        p.content_type = std::move(content_type);
        return p;
    }
    /// A file streamed from disk: `mime_part::file("upload", "/tmp/a.bin")`.
    static mime_part file(std::string name, std::string path, std::string content_type = {}) {
        mime_part p;
        p.name = std::move(name);
        p.file_path = std::move(path);
        p.content_type = std::move(content_type);
        return p;
    }
    /// In-memory bytes sent as a file upload named `filename`.
    static mime_part bytes(std::string name, std::string data, std::string filename,
                           std::string content_type = {}) {
        mime_part p;
        p.name = std::move(name);
        p.data = std::move(data);
        p.filename = std::move(filename);
        p.content_type = std::move(content_type);
        return p;
    }
};

} // namespace curlasio

#endif
