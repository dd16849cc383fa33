// ZIP reading and writing, just enough for .npz: the central directory is the source of
// truth for names, sizes and offsets (as Python's zipfile does), entries are stored or
// deflated (raw deflate through zlib).
#include "zip.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>

#include "eigennet/data/error.hpp"
#include "limits.hpp"

namespace eigennet::detail {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDir = 0x06054b50;
constexpr std::uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, the earliest DOS date

void put16(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xFFFF);
  put16(out, v >> 16);
}

std::uint32_t crc_of(const std::string& data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t done = 0;
  while (done < data.size()) {  // crc32 takes uInt lengths
    const std::size_t chunk = std::min<std::size_t>(data.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + done), static_cast<uInt>(chunk));
    done += chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

// Bounds-checked little-endian reads from the whole file in memory.
class Reader {
 public:
  Reader(const std::string& bytes, std::string path) : bytes_(bytes), path_(std::move(path)) {}
  std::uint64_t get(std::size_t offset, int size, const char* what) const {
    if (offset > bytes_.size() || bytes_.size() - offset < static_cast<std::size_t>(size))
      fail(std::string("truncated ZIP archive: ") + what + " at byte " + std::to_string(offset) +
           " lies beyond the end of the file (" + std::to_string(bytes_.size()) + " bytes)");
    std::uint64_t v = 0;
    for (int i = size - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes_[offset + i]);
    return v;
  }
  std::uint16_t u16(std::size_t offset, const char* what) const {
    return static_cast<std::uint16_t>(get(offset, 2, what));
  }
  std::uint32_t u32(std::size_t offset, const char* what) const {
    return static_cast<std::uint32_t>(get(offset, 4, what));
  }
  std::uint64_t u64(std::size_t offset, const char* what) const { return get(offset, 8, what); }
  [[noreturn]] void fail(const std::string& message) const { throw DataError(path_ + ": " + message); }
  std::size_t size() const { return bytes_.size(); }
  const std::string& bytes() const { return bytes_; }

 private:
  const std::string& bytes_;
  std::string path_;
};

// Deflate cannot expand data more than 1032:1 (zlib's FAQ), so an entry declaring more than
// that for its compressed bytes is corrupt or hostile: rejected before inflating.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

// Inflates into a buffer that grows as data arrives (doubling, from 64 KiB) and never beyond
// the declared size: a corrupt size cannot make us allocate more than the data inflates to.
std::string inflate_raw(const Reader& r, const std::string& name, const char* data,
                        std::size_t compressed, std::size_t uncompressed) {
  if (uncompressed / kMaxDeflateRatio > compressed)
    r.fail("entry '" + name + "' declares " + std::to_string(uncompressed) + " bytes uncompressed, more than " +
           std::to_string(compressed) + " deflated bytes can hold (at most " + std::to_string(kMaxDeflateRatio) +
           " times as many)");
  std::string out;
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) r.fail("entry '" + name + "': inflateInit2 failed");
  // zlib takes uInt lengths: input and output are fed in chunks of at most 1 GiB.
  std::size_t in_done = 0, out_done = 0;
  int status = Z_OK;
  while (status == Z_OK) {
    if (out_done == out.size() && out.size() < uncompressed)
      out.resize(std::min<std::size_t>(uncompressed, std::max<std::size_t>(2 * out.size(), 1 << 16)));
    const std::size_t in_chunk = std::min<std::size_t>(compressed - in_done, 1u << 30);
    const std::size_t out_chunk = std::min<std::size_t>(out.size() - out_done, 1u << 30);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data + in_done));
    zs.avail_in = static_cast<uInt>(in_chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
    zs.avail_out = static_cast<uInt>(out_chunk);
    status = inflate(&zs, Z_NO_FLUSH);
    in_done += in_chunk - zs.avail_in;
    out_done += out_chunk - zs.avail_out;
    if (status == Z_BUF_ERROR && (in_done == compressed || out_done == uncompressed)) break;
    if (status == Z_BUF_ERROR) status = Z_OK;  // no progress possible this round: retry with more room
  }
  const char* message = zs.msg;
  inflateEnd(&zs);
  if (status != Z_STREAM_END)
    r.fail("entry '" + name + "': corrupt deflate data" + (message ? std::string(": ") + message : "") +
           " (expected " + std::to_string(uncompressed) + " bytes, inflated " + std::to_string(out_done) + ")");
  if (out_done != uncompressed)
    r.fail("entry '" + name + "': inflated " + std::to_string(out_done) + " bytes, expected " +
           std::to_string(uncompressed));
  return out;
}

}  // namespace

void write_zip(FileSink& sink, const std::vector<std::pair<std::string, std::string>>& entries,
               const std::string& path) {
  constexpr std::uint64_t kLimit = std::numeric_limits<std::uint32_t>::max();
  if (entries.size() >= 0xFFFF)
    throw DataError(path + ": " + std::to_string(entries.size()) + " arrays; at most 65534 without ZIP64");
  std::string central;
  std::uint64_t offset = 0;
  for (const auto& [name, data] : entries) {
    if (data.size() >= kLimit || offset >= kLimit || name.size() > 0xFFFF)
      throw DataError(path + ": entry '" + name + "' (" + std::to_string(data.size()) +
                      " bytes) would need ZIP64, which is not supported; the archive must stay under 4 GiB");
    const std::uint32_t crc = crc_of(data);
    const auto size = static_cast<std::uint32_t>(data.size());
    std::string local;
    put32(local, kLocalHeader);
    put16(local, 20);  // version needed: 2.0
    put16(local, 0);   // flags
    put16(local, 0);   // method: stored
    put16(local, 0);   // time 00:00
    put16(local, kDosDate1980);
    put32(local, crc);
    put32(local, size);  // compressed size
    put32(local, size);  // uncompressed size
    put16(local, static_cast<std::uint32_t>(name.size()));
    put16(local, 0);  // extra length
    local += name;

    put32(central, kCentralHeader);
    put16(central, 20);  // version made by
    put16(central, 20);  // version needed
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, kDosDate1980);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, static_cast<std::uint32_t>(name.size()));
    put16(central, 0);  // extra length
    put16(central, 0);  // comment length
    put16(central, 0);  // disk number
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, static_cast<std::uint32_t>(offset));
    central += name;

    sink.write(local.data(), local.size());
    sink.write(data.data(), data.size());
    offset += local.size() + data.size();
  }
  if (offset >= kLimit || central.size() >= kLimit)
    throw DataError(path + ": archive would exceed 4 GiB, which needs ZIP64 (not supported)");
  std::string end;
  put32(end, kEndOfCentralDir);
  put16(end, 0);  // this disk
  put16(end, 0);  // disk with the central directory
  put16(end, static_cast<std::uint32_t>(entries.size()));
  put16(end, static_cast<std::uint32_t>(entries.size()));
  put32(end, static_cast<std::uint32_t>(central.size()));
  put32(end, static_cast<std::uint32_t>(offset));
  put16(end, 0);  // comment length
  sink.write(central.data(), central.size());
  sink.write(end.data(), end.size());
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(path + ": read error");
  return bytes;
}

std::vector<ZipEntry> parse_zip(const std::string& bytes, const std::string& path) {
  const Reader r(bytes, path);

  // The end-of-central-directory record: 22 bytes plus a comment of at most 65535 bytes.
  if (bytes.size() < 22)
    r.fail("not a ZIP archive (.npz): " + std::to_string(bytes.size()) + " bytes, too short");
  std::size_t eocd = std::string::npos;
  const std::size_t lowest = bytes.size() >= 22 + 0xFFFF ? bytes.size() - 22 - 0xFFFF : 0;
  for (std::size_t pos = bytes.size() - 22 + 1; pos-- > lowest;)
    if (r.u32(pos, "end record") == kEndOfCentralDir) {
      eocd = pos;
      break;
    }
  if (eocd == std::string::npos)
    r.fail("not a ZIP archive (.npz): no end-of-central-directory record found");

  std::uint64_t count = r.u16(eocd + 10, "entry count");
  std::uint64_t dir_size = r.u32(eocd + 12, "central directory size");
  std::uint64_t dir_offset = r.u32(eocd + 16, "central directory offset");
  if ((count == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) && eocd >= 20 &&
      r.u32(eocd - 20, "ZIP64 locator") == kZip64Locator) {
    const std::uint64_t z64 = r.u64(eocd - 20 + 8, "ZIP64 end record offset");
    if (r.u32(z64, "ZIP64 end record") != kZip64EndOfCentralDir) r.fail("bad ZIP64 end record");
    count = r.u64(z64 + 32, "ZIP64 entry count");
    dir_size = r.u64(z64 + 40, "ZIP64 central directory size");
    dir_offset = r.u64(z64 + 48, "ZIP64 central directory offset");
  }
  if (dir_offset > bytes.size())
    r.fail("truncated ZIP archive: central directory starts at byte " + std::to_string(dir_offset) +
           ", file has " + std::to_string(bytes.size()) + " bytes");
  require_available(dir_size, bytes.size() - dir_offset, path + ": truncated ZIP archive: central directory");

  std::vector<ZipEntry> entries;
  // Where each entry's data lies (start → end): entries sharing bytes are refused, as Python's
  // zipfile refuses them; otherwise a small archive naming one stream many times could inflate
  // to the square of its size, each entry within its own limit.
  std::map<std::uint64_t, std::uint64_t> spans;
  std::size_t pos = static_cast<std::size_t>(dir_offset);
  for (std::uint64_t i = 0; i < count; ++i) {
    if (r.u32(pos, "central directory entry") != kCentralHeader)
      r.fail("corrupt ZIP central directory at byte " + std::to_string(pos));
    const std::uint16_t flags = r.u16(pos + 8, "flags");
    const std::uint16_t method = r.u16(pos + 10, "method");
    const std::uint32_t crc = r.u32(pos + 16, "CRC");
    std::uint64_t compressed = r.u32(pos + 20, "compressed size");
    std::uint64_t uncompressed = r.u32(pos + 24, "size");
    const std::uint16_t name_len = r.u16(pos + 28, "name length");
    const std::uint16_t extra_len = r.u16(pos + 30, "extra length");
    const std::uint16_t comment_len = r.u16(pos + 32, "comment length");
    std::uint64_t local = r.u32(pos + 42, "local header offset");
    r.get(pos + 46 + name_len, 0, "entry name");
    ZipEntry entry;
    entry.name = bytes.substr(pos + 46, name_len);

    // ZIP64 extra field: the 64-bit values of the fields saturated at 0xFFFFFFFF, in order.
    std::size_t extra = pos + 46 + name_len;
    const std::size_t extra_end = extra + extra_len;
    while (extra + 4 <= extra_end) {
      const std::uint16_t id = r.u16(extra, "extra id");
      const std::uint16_t len = r.u16(extra + 2, "extra length");
      if (id == 0x0001) {
        std::size_t field = extra + 4;
        if (uncompressed == 0xFFFFFFFF) {
          uncompressed = r.u64(field, "ZIP64 size");
          field += 8;
        }
        if (compressed == 0xFFFFFFFF) {
          compressed = r.u64(field, "ZIP64 size");
          field += 8;
        }
        if (local == 0xFFFFFFFF) local = r.u64(field, "ZIP64 offset");
      }
      extra += 4 + len;
    }
    pos = extra_end + comment_len;

    if (flags & 0x1) r.fail("entry '" + entry.name + "' is encrypted");
    if (method != 0 && method != 8)
      r.fail("entry '" + entry.name + "' uses compression method " + std::to_string(method) +
             ", expected 0 (stored) or 8 (deflate)");
    if (r.u32(local, "local header") != kLocalHeader)
      r.fail("entry '" + entry.name + "': no local header at byte " + std::to_string(local));
    const std::size_t data_start =
        static_cast<std::size_t>(local) + 30 + r.u16(local + 26, "name length") + r.u16(local + 28, "extra length");
    r.get(data_start, 0, "entry data");
    require_available(compressed, bytes.size() - data_start, path + ": entry '" + entry.name + "' is truncated");
    const std::uint64_t data_end = data_start + compressed;
    const auto after = spans.lower_bound(data_start);
    if ((after != spans.end() && after->first < data_end) || (after != spans.begin() && std::prev(after)->second > data_start))
      r.fail("entry '" + entry.name + "': its data (bytes " + std::to_string(data_start) + " to " +
             std::to_string(data_end) + ") overlaps another entry's");
    spans.emplace(data_start, data_end);
    if (method == 0) {
      if (compressed != uncompressed)
        r.fail("entry '" + entry.name + "' is stored but its sizes differ");
      entry.data = bytes.substr(data_start, compressed);
    } else {
      entry.data = inflate_raw(r, entry.name, bytes.data() + data_start, compressed, uncompressed);
    }
    const std::uint32_t found_crc = crc_of(entry.data);
    if (found_crc != crc)
      r.fail("entry '" + entry.name + "': CRC-32 mismatch (stored " + std::to_string(crc) +
             ", computed " + std::to_string(found_crc) + "); the file is corrupt");
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace eigennet::detail
