"""The app's command line: ``python -m gluon_style.app [--port N] [--open] ...``.

The server listens on 127.0.0.1 unless told otherwise; any other address is
refused without ``--allow-public`` (anyone who can reach it could upload files
and use the CPU). Jobs are written under ``--workdir`` only (default: a fresh
temporary folder, removed when the server stops).
"""
import ipaddress
import logging
import shutil
import socket
import sys
import tempfile
import threading

from ..errors import Error
from ..cli.common import Parser, default, stop_on_sigterm, typed
from ..runtime import keep_freed_memory

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


_port = typed(int, "a port number", lambda v: 0 <= v <= 65535, "must be 0..65535")
_megabytes = typed(float, "a number", lambda v: 0 < v <= 4096, "must be above 0 and at most 4096")


def parser():
    from . import server
    p = Parser(prog="python -m gluon_style.app",
                description="A local web app: choose a photo and a style, transfer, download.")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="address to listen on (default %(default)s: this computer only)")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT,
                   help="port (default %(default)s; 0: any free port)")
    p.add_argument("--allow-public", action="store_true",
                   help="allow a --host other than a loopback address (anyone who can reach it "
                        "can upload files and use this computer's CPU)")
    p.add_argument("--max-upload-mb", type=_megabytes, default=default(server.create_app,
                                                                         "max_upload_mb"),
                   help="largest upload per transfer, in MB (default %(default)s)")
    p.add_argument("--workdir", help="folder for the jobs' files (default: a fresh temporary "
                                     "folder, removed on exit)")
    p.add_argument("--network", default=default(server.gatys.stylize_steps, "network"),
                   help="loss network of optimization mode (default %(default)s)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p


def is_loopback(host):
    """True for 'localhost' and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host, allow_public):
    """Refuse a non-loopback `host` unless `allow_public`; warn loudly when allowed."""
    if is_loopback(host):
        return
    if not allow_public:
        raise Error("refusing to listen on %s: not a loopback address, so other computers could "
                    "use the app (add --allow-public if you mean it)" % host)
    print("WARNING: listening on %s: anyone who can reach this address can upload images and "
          "run transfers on this computer" % host, file=sys.stderr, flush=True)


def listen(host, port):
    """A socket listening on `host`:`port`; a port in use (or any other refusal) is an
    :class:`Error` raised before anything is created."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as werkzeug chooses
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as e:
        raise Error("cannot listen on %s port %d (%s)" % (host, port, e.strerror or e)) from None


def main(argv=None):
    args = parser().parse_args(argv)
    check_host(args.host, args.allow_public)
    from werkzeug.serving import make_server

    from .server import create_app
    sock = listen(args.host, args.port)  # before the folder: a busy port leaves nothing
    stop_on_sigterm()  # stop like Ctrl-C: the temp folder goes
    keep_freed_memory()  # photos of many sizes reuse the same pages
    own = args.workdir is None
    workdir = tempfile.mkdtemp(prefix="gluon_style_app_") if own else args.workdir
    try:
        trusted = None
        if is_loopback(args.host) and ":" not in args.host:  # guards against DNS rebinding
            trusted = sorted({"localhost", "127.0.0.1", args.host})
        app = create_app(workdir, max_upload_mb=args.max_upload_mb, network=args.network,
                         trusted_hosts=trusted, warm_up=True)  # the first style, meanwhile
        if not args.verbose:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        httpd = make_server(args.host, args.port, app, threaded=True, fd=sock.fileno())
        sock.close()  # the server holds its own duplicate
        _serve(httpd, args.host, workdir, args.open)
    except KeyboardInterrupt:  # before the server was up
        print("stopped", file=sys.stderr)
    finally:
        sock.close()
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _serve(httpd, host, workdir, open_browser):
    """Serve until Ctrl-C or SIGTERM (werkzeug's serve_forever returns on them)."""
    url = "http://%s:%d/" % ("[%s]" % host if ":" in host else host, httpd.server_address[1])
    print("gluon_style app on %s (jobs in %s; Ctrl-C to stop)" % (url, workdir), flush=True)
    if open_browser:
        import webbrowser
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
    print("stopped", file=sys.stderr)



def main_exit(argv=None):
    try:
        sys.exit(main(argv))
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)
