// Running gnuplot: finding the program, choosing a terminal, writing the PNG atomically.
#include "gnuplot_session.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

namespace eigennet::plot {

namespace {

const char* const kInstallHint = "install it with: apt-get install gnuplot-nox";

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string find_gnuplot() {
  if (const char* forced = std::getenv("EIGENNET_GNUPLOT"); forced != nullptr && forced[0] != '\0') {
    if (!is_executable_file(forced))
      throw PlotError(std::string("gnuplot not found: $EIGENNET_GNUPLOT is '") + forced +
                      "', which is not an executable file (unset it to use gnuplot from PATH, or " + kInstallHint +
                      ")");
    return forced;
  }
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env ? path_env : "";
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    const std::string dir = end > begin ? path.substr(begin, end - begin) : ".";
    const std::string candidate = dir + "/gnuplot";
    if (is_executable_file(candidate)) return candidate;
    begin = end + 1;
  }
  throw PlotError("gnuplot not found on PATH (" + path + "): eigennet draws its plots with the gnuplot program; " +
                  kInstallHint);
}

namespace detail {

std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "''";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out + "'";
}

namespace {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// Ignores SIGPIPE while alive: if gnuplot dies early, writing to its pipe must fail, not kill us.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, &saved_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &saved_, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction saved_ {};
};

// A scratch folder for gnuplot's messages and exit status, removed with its files.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && tmp[0] ? tmp : "/tmp") + "/eigennet-gnuplot-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw PlotError("cannot create a scratch folder " + pattern + " for gnuplot's messages: " + std::strerror(errno));
    path_ = pattern;
  }
  ~ScratchDir() {
    ::unlink(file("messages").c_str());
    ::unlink(file("status").c_str());
    ::rmdir(path_.c_str());
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct GnuplotResult {
  int status = -1;       // gnuplot's exit status (-1: unknown)
  std::string messages;  // what it printed (errors, warnings)
};

// Runs `gnuplot <arguments>`, feeds it through gnuplot-iostream, waits for it to exit.
GnuplotResult run_gnuplot(const std::string& gnuplot, const std::string& arguments,
                          const std::function<void(Gnuplot&)>& feed) {
  ScratchDir scratch;
  // The shell's own status is echo's (0), so gnuplot-iostream's pclose stays quiet; gnuplot's
  // status and messages come back through the scratch files.
  const std::string command = shell_quote(gnuplot) + arguments + " >" + shell_quote(scratch.file("messages")) +
                              " 2>&1; echo $? >" + shell_quote(scratch.file("status"));
  {
    IgnoreSigpipe guard;
    Gnuplot gp(command);
    feed(gp);
    gp << "exit\n";
  }  // ~Gnuplot flushes, closes the pipe and waits for gnuplot to exit
  GnuplotResult result;
  result.messages = trim(read_text_file(scratch.file("messages")));
  const std::string status = trim(read_text_file(scratch.file("status")));
  if (!status.empty()) result.status = std::atoi(status.c_str());
  return result;
}

// The terminals a gnuplot binary offers (GPVAL_TERMINALS), asked once per binary.
std::string terminals_of(const std::string& gnuplot) {
  static std::mutex mutex;
  static std::map<std::string, std::string> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(gnuplot); it != cache.end()) return it->second;
  const GnuplotResult result = run_gnuplot(gnuplot, "", [](Gnuplot& gp) { gp << "print GPVAL_TERMINALS\n"; });
  if (result.status != 0)
    throw PlotError("gnuplot (" + gnuplot + ") does not run (exit status " + std::to_string(result.status) +
                    "): " + result.messages + "; " + kInstallHint);
  return cache[gnuplot] = " " + result.messages + " ";
}

bool has_terminal(const std::string& terminals, const std::string& name) {
  return terminals.find(" " + name + " ") != std::string::npos;
}

std::string png_terminal(const std::string& gnuplot, const std::string& terminals) {
  if (const char* forced = std::getenv("EIGENNET_PLOT_TERMINAL"); forced != nullptr && forced[0] != '\0') {
    const std::string name = forced;
    if (name != "pngcairo" && name != "png")
      throw PlotError("$EIGENNET_PLOT_TERMINAL is '" + name + "': expected pngcairo or png");
    if (!has_terminal(terminals, name))
      throw PlotError("$EIGENNET_PLOT_TERMINAL asks for '" + name + "', which gnuplot (" + gnuplot + ") lacks");
    return name;
  }
  if (has_terminal(terminals, "pngcairo")) return "pngcairo";
  if (has_terminal(terminals, "png")) return "png";
  throw PlotError("gnuplot (" + gnuplot + ") has neither the pngcairo nor the png terminal; " + kInstallHint);
}

// Reads big-endian u32 at p.
std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

// Empty if `path` is a complete PNG (signature, IHDR, IEND at the end) of width × height;
// otherwise what is wrong with it.
std::string png_problem(const std::string& path, int width, int height) {
  const std::string bytes = read_text_file(path);
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  if (bytes.size() < 8 + 25 + 12) return "it is " + std::to_string(bytes.size()) + " bytes long, too short for a PNG";
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (std::memcmp(data, signature, 8) != 0) return "it does not start with the PNG signature";
  if (std::memcmp(data + 12, "IHDR", 4) != 0) return "its first chunk is not IHDR";
  const std::uint32_t w = be32(data + 16), h = be32(data + 20);
  if (w != std::uint32_t(width) || h != std::uint32_t(height))
    return "it is " + std::to_string(w) + "×" + std::to_string(h) + " pixels, not the " + std::to_string(width) + "×" +
           std::to_string(height) + " asked for";
  if (std::memcmp(data + bytes.size() - 12, iend, 12) != 0) return "it does not end with an IEND chunk (truncated)";
  return "";
}

void check_options(const PlotOptions& options) {
  if (options.width < 16 || options.width > 16384 || options.height < 16 || options.height > 16384)
    throw std::invalid_argument("plot size " + std::to_string(options.width) + "×" + std::to_string(options.height) +
                                ": width and height must be between 16 and 16384 pixels");
}

// Draws into a window when a display and an on-screen terminal exist; otherwise says why not.
// Never fatal: the PNG is already written.
void show_window(const std::string& gnuplot, const std::string& terminals, const std::string& png_path,
                 const PlotOptions& options, const Draw& draw) {
  const char* display = std::getenv("DISPLAY");
  if (display == nullptr || display[0] == '\0') {
    std::cerr << "show: no display ($DISPLAY is not set), so no window; the plot is in " << png_path << "\n";
    return;
  }
  std::string terminal;
  for (const char* candidate : {"qt", "wxt", "x11"})
    if (terminal.empty() && has_terminal(terminals, candidate)) terminal = candidate;
  if (terminal.empty()) {
    std::cerr << "show: gnuplot (" << gnuplot << ") has no on-screen terminal (qt, wxt or x11; gnuplot-nox is "
              << "headless: apt-get install gnuplot-qt for windows); the plot is in " << png_path << "\n";
    return;
  }
  const std::string window_title = options.title.empty() ? png_path : options.title;
  const GnuplotResult result = run_gnuplot(gnuplot, " -persist", [&](Gnuplot& gp) {
    gp << "set encoding utf8\n";
    gp << "set terminal " << terminal << " size " << options.width << "," << options.height << " noenhanced title "
       << quote(window_title) << "\n";
    draw(gp);
  });
  if (result.status != 0)
    std::cerr << "show: gnuplot could not open a " << terminal << " window (exit status " << result.status
              << "): " << result.messages << "; the plot is in " << png_path << "\n";
}

}  // namespace

void render(const std::string& png_path, const PlotOptions& options, const Draw& draw) {
  check_options(options);
  if (png_path.empty()) throw std::invalid_argument("plot: the PNG path is empty");
  const std::string gnuplot = find_gnuplot();
  const std::string terminals = terminals_of(gnuplot);
  const std::string terminal = png_terminal(gnuplot, terminals);

  // The temporary file lives beside png_path, so the final rename stays on one file system.
  std::string temporary = png_path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0)
    throw PlotError("cannot write " + png_path + ": creating the temporary file " + temporary + " failed: " +
                    std::strerror(errno));
  ::close(fd);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(temporary.c_str(), 0666 & ~mask);  // mkstemp's 0600 would hide the picture from others

  GnuplotResult result;
  try {
    result = run_gnuplot(gnuplot, "", [&](Gnuplot& gp) {
      gp << "set encoding utf8\n";
      gp << "set terminal " << terminal << " size " << options.width << "," << options.height << " noenhanced\n";
      gp << "set output " << quote(temporary) << "\n";
      draw(gp);
      gp << "unset output\n";
    });
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
  std::string problem;
  if (result.status != 0)
    problem = "gnuplot exited with status " + std::to_string(result.status) +
              (result.messages.empty() ? std::string() : ":\n" + result.messages);
  else if (std::string png = png_problem(temporary, options.width, options.height); !png.empty())
    problem = "gnuplot's output is not a valid PNG: " + png +
              (result.messages.empty() ? std::string() : "\n" + result.messages);
  if (!problem.empty()) {
    ::unlink(temporary.c_str());
    throw PlotError("could not draw " + png_path + ": " + problem);
  }
  if (!result.messages.empty()) std::cerr << "gnuplot (" << png_path << "): " << result.messages << "\n";

  if (const int sync_fd = ::open(temporary.c_str(), O_RDONLY); sync_fd >= 0) {
    ::fsync(sync_fd);
    ::close(sync_fd);
  }
  if (::rename(temporary.c_str(), png_path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw PlotError("cannot write " + png_path + ": renaming " + temporary + " over it failed: " + std::strerror(error));
  }
  if (options.show) show_window(gnuplot, terminals, png_path, options, draw);
}

}  // namespace detail
}  // namespace eigennet::plot
