// Helpers of the plot tests: a scratch folder, running a command, and a small PNG decoder
// (8-bit, non-interlaced; zlib inflates the pixels) to prove a picture is not blank.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace plot_test {

namespace fs = std::filesystem;

// A fresh folder, removed with everything in it.
using eigennet_test::TempDir;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The path of a tool under test from the environment `meson test` sets (EIGENNET_TRAIN_MNIST,
// EIGENNET_DENOISE_COSINE), quoted for the shell; the test fails without it.
inline std::string tool_from_env(const char* variable) {
  const char* path = std::getenv(variable);
  REQUIRE_MESSAGE(path != nullptr, variable << " (the tool's path) is not set: run through meson test");
  return shell_quote(path);
}

struct CommandResult {
  int exit_code = -1;
  std::string out, err;  // stdout, stderr
};

// Runs a shell command line with stdout and stderr captured separately.
inline CommandResult run_command(const TempDir& dir, const std::string& command) {
  const std::string out_path = dir.file(".cmd.out"), err_path = dir.file(".cmd.err");
  const int status = std::system((command + " >" + shell_quote(out_path) + " 2>" + shell_quote(err_path)).c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return result;
}

// Sets (or unsets, with nullptr) an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_.c_str(), old_.c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_, old_;
  bool had_ = false;
};

// Captures what this process writes to stderr (file descriptor 2) while alive.
class CaptureStderr {
 public:
  explicit CaptureStderr(const std::string& path) : path_(path) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    ::dup2(::fileno(f), 2);
    std::fclose(f);
  }
  ~CaptureStderr() { restore(); }
  CaptureStderr(const CaptureStderr&) = delete;
  CaptureStderr& operator=(const CaptureStderr&) = delete;
  // Restores stderr and returns what was written.
  std::string text() {
    restore();
    return read_file(path_);
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    std::cerr.flush();
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

// A decoded PNG: pixels as RGB, alpha composited over white.
struct Image {
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  std::vector<std::uint8_t> rgb;  // width*height*3
  std::string error;              // why decoding failed; empty on success

  const std::uint8_t* at(std::uint32_t x, std::uint32_t y) const { return &rgb[(std::size_t(y) * width + x) * 3]; }
};

inline std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

inline int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Decodes 8-bit, non-interlaced PNGs of colour type 0, 2, 3, 4 or 6 (what gnuplot writes),
// checking every chunk's CRC.
inline Image decode_png(const std::string& path) {
  Image img;
  const std::string bytes = read_file(path);
  const auto* d = reinterpret_cast<const unsigned char*>(bytes.data());
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (bytes.size() < 8 || std::memcmp(d, signature, 8) != 0) {
    img.error = path + ": no PNG signature (" + std::to_string(bytes.size()) + " bytes)";
    return img;
  }
  std::string idat;
  std::vector<std::uint8_t> palette;
  bool seen_ihdr = false, seen_iend = false;
  int interlace = 0;
  for (std::size_t pos = 8; pos + 12 <= bytes.size() && !seen_iend;) {
    const std::uint32_t length = be32(d + pos);
    const std::string type(bytes, pos + 4, 4);
    if (pos + 12 + length > bytes.size()) {
      img.error = path + ": chunk " + type + " runs past the end of the file";
      return img;
    }
    const unsigned char* data = d + pos + 8;
    const std::uint32_t crc = be32(data + length);
    if (crc != std::uint32_t(::crc32(::crc32(0, d + pos + 4, 4), data, length))) {
      img.error = path + ": bad CRC in chunk " + type;
      return img;
    }
    if (type == "IHDR") {
      seen_ihdr = true;
      img.width = be32(data);
      img.height = be32(data + 4);
      img.bit_depth = data[8];
      img.color_type = data[9];
      interlace = data[12];
    } else if (type == "PLTE") {
      palette.assign(data, data + length);
    } else if (type == "IDAT") {
      idat.append(reinterpret_cast<const char*>(data), length);
    } else if (type == "IEND") {
      seen_iend = true;
    }
    pos += 12 + length;
  }
  if (!seen_ihdr || !seen_iend) {
    img.error = path + ": missing IHDR or IEND";
    return img;
  }
  const std::map<int, int> channels_of = {{0, 1}, {2, 3}, {3, 1}, {4, 2}, {6, 4}};
  if (img.bit_depth != 8 || !channels_of.count(img.color_type) || interlace != 0) {
    img.error = path + ": unsupported PNG (bit depth " + std::to_string(img.bit_depth) + ", colour type " +
                std::to_string(img.color_type) + ", interlace " + std::to_string(interlace) + ")";
    return img;
  }
  const int channels = channels_of.at(img.color_type);
  const std::size_t stride = std::size_t(img.width) * channels;
  std::vector<std::uint8_t> raw((stride + 1) * img.height);
  uLongf raw_size = raw.size();
  if (::uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_size != raw.size()) {
    img.error = path + ": the image data does not inflate to " + std::to_string(raw.size()) + " bytes";
    return img;
  }
  std::vector<std::uint8_t> pixels(stride * img.height), previous(stride, 0);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* in = &raw[y * (stride + 1) + 1];
    std::uint8_t* out = &pixels[y * stride];
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= std::size_t(channels) ? out[i - channels] : 0, b = previous[i],
                c = i >= std::size_t(channels) ? previous[i - channels] : 0;
      int predictor = 0;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) / 2; break;
        case 4: predictor = paeth(a, b, c); break;
        default: img.error = path + ": unknown filter " + std::to_string(filter); return img;
      }
      out[i] = std::uint8_t(in[i] + predictor);
    }
    std::memcpy(previous.data(), out, stride);
  }
  img.rgb.resize(std::size_t(img.width) * img.height * 3);
  for (std::size_t p = 0; p < std::size_t(img.width) * img.height; ++p) {
    const std::uint8_t* s = &pixels[p * channels];
    int r, g, b, alpha = 255;
    switch (img.color_type) {
      case 0: r = g = b = s[0]; break;
      case 4: r = g = b = s[0]; alpha = s[1]; break;
      case 2: r = s[0], g = s[1], b = s[2]; break;
      case 6: r = s[0], g = s[1], b = s[2], alpha = s[3]; break;
      default:  // 3: palette
        if (std::size_t(s[0]) * 3 + 2 >= palette.size()) {
          img.error = path + ": palette index out of range";
          return img;
        }
        r = palette[s[0] * 3], g = palette[s[0] * 3 + 1], b = palette[s[0] * 3 + 2];
    }
    auto over_white = [alpha](int v) { return std::uint8_t((v * alpha + 255 * (255 - alpha) + 127) / 255); };
    img.rgb[p * 3] = over_white(r), img.rgb[p * 3 + 1] = over_white(g), img.rgb[p * 3 + 2] = over_white(b);
  }
  return img;
}

// Pixel statistics over a band of rows [y0, y1).
struct Stats {
  std::size_t pixels = 0;
  std::size_t non_background = 0;  // differ from the most frequent colour
  std::size_t distinct_colours = 0;
  std::size_t red = 0;             // clearly red: r > 170, g < 90, b < 90
  std::size_t dark = 0;            // r, g, b all < 60
  double non_background_fraction() const { return pixels ? double(non_background) / double(pixels) : 0; }
};

inline Stats stats(const Image& img, std::uint32_t y0 = 0, std::uint32_t y1 = 0xffffffffu) {
  Stats s;
  y1 = std::min(y1, img.height);
  std::map<std::uint32_t, std::size_t> counts;
  for (std::uint32_t y = y0; y < y1; ++y)
    for (std::uint32_t x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.at(x, y);
      ++counts[(std::uint32_t(p[0]) << 16) | (std::uint32_t(p[1]) << 8) | p[2]];
      s.red += p[0] > 170 && p[1] < 90 && p[2] < 90;
      s.dark += p[0] < 60 && p[1] < 60 && p[2] < 60;
      ++s.pixels;
    }
  std::size_t most = 0;
  for (const auto& [colour, n] : counts) most = std::max(most, n);
  s.non_background = s.pixels - most;
  s.distinct_colours = counts.size();
  return s;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace plot_test
