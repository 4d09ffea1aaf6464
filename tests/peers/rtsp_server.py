#!/usr/bin/python3
"""A real RTSP server for the probe tests: GStreamer's gst-rtsp-server.

Run with Debian's Python (`/usr/bin/python3`), which has the GObject
bindings (`python3-gst-1.0`, `gir1.2-gst-rtsp-server-1.0`). It starts two
servers on free loopback ports:

- the open server, whose mounts need no authentication:
    /h264-640x360-25     live test picture, 25 fps, a key frame every second
    /h264-1280x720-15    15 fps, a key frame every 3 s
    /h264-320x240-5      5 fps, a key frame every 2 s
    /h264-high-800x600-10  High profile, 10 fps
    /h264-444            High 4:4:4 Predictive, which OpenH264 does not decode
    /shared-h264-640x360 one live encoder shared by every client, key frame
                         every 2 s: a client joins mid-GOP, like a camera
    /h265-640x360-25     H.265, only when the x265enc element exists
    /audio               audio only (G.711 A-law), no video at all
    /recorded            a 10 s H.264 file (made at start-up) played from
                         disk, seekable with a PLAY Range header
    /cam/<n>             `--cameras N` more mounts of the recorded file, for
                         the probes/s benchmark
- the digest server, with one mount `/secure` (like /h264-640x360-25) that
  needs digest authentication (user `probe`, password given with
  `--password`);
- the basic server, with one mount `/basic` (320x240, 10 fps) that needs
  basic authentication (same user and password).

When all three listen it prints one JSON line on stdout: `{"port": …,
"digest_port": …, "basic_port": …, "h265": true|false, "mounts": […],
"workdir": …}` (`mounts` lists the open server's).
It stops when its standard input closes, so it never outlives the test
process that started it, whatever way that process ends (by hand:
`sleep infinity | /usr/bin/python3 tests/peers/rtsp_server.py --password x`).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

USER = "probe"


def h264(
    width, height, fps, gop, bitrate_kbps, pattern="ball", chroma="I420", profile=None, preset="ultrafast"
):
    """A live H.264 test picture. `key-int-max` sets the GOP in frames;
    `config-interval=-1` repeats SPS/PPS before every key frame, as cameras
    do. The chroma format is fixed because x264enc would otherwise pick the
    first one it accepts (4:4:4), which no camera sends."""
    caps = f"! video/x-h264,profile={profile} " if profile else ""
    return (
        f"( videotestsrc is-live=true pattern={pattern} "
        f"! video/x-raw,format={chroma},width={width},height={height},framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset={preset} key-int-max={gop} "
        f"bitrate={bitrate_kbps} {caps}"
        f"! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


def h265(width, height, fps, gop):
    return (
        f"( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 "
        f"! x265enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} "
        f"bitrate=600 "
        f"! rtph265pay name=pay0 pt=96 config-interval=-1 )"
    )


def factory(launch, shared=False, auth=False):
    f = GstRtspServer.RTSPMediaFactory()
    f.set_launch(launch)
    f.set_shared(shared)
    if auth:
        # Only the authenticated user's role may open a mount that needs
        # authentication.
        f.add_role_from_structure(
            Gst.Structure.from_string(
                "user, media.factory.access=(boolean)true, "
                "media.factory.construct=(boolean)true"
            )[0]
        )
    return f


def server(auth, mounts):
    """An RTSP server on a free loopback port; `auth` is empty (open) or has
    the `method` and the `password` of the user `probe`."""
    s = GstRtspServer.RTSPServer()
    s.set_address("127.0.0.1")
    s.set_service("0")
    if auth:
        a = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        if auth["method"] == GstRtsp.RTSPAuthMethod.BASIC:
            a.add_basic(GstRtspServer.RTSPAuth.make_basic(USER, auth["password"]), token)
        else:
            a.add_digest(USER, auth["password"], token)
        a.set_supported_methods(auth["method"])
        s.set_auth(a)
    points = s.get_mount_points()
    for path, f in mounts.items():
        points.add_factory(path, f)
    return s


def record_file(directory):
    """A 10 s H.264 MP4 with a key frame every second, written once at
    start-up; qtdemux makes it seekable when served."""
    path = os.path.join(directory, "recorded.mp4")
    pipeline = Gst.parse_launch(
        "videotestsrc num-buffers=250 pattern=smpte "
        "! video/x-raw,format=I420,width=640,height=360,framerate=25/1 "
        "! x264enc speed-preset=veryfast key-int-max=25 bitrate=600 "
        f"! h264parse ! mp4mux ! filesink location={path}"
    )
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    msg = bus.timed_pop_filtered(
        60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
    )
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        detail = msg.parse_error()[0].message if msg is not None else "timed out"
        sys.exit(f"rtsp_server.py: cannot record the test file: {detail}")
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--password", required=True)
    parser.add_argument("--cameras", type=int, default=0)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()

    Gst.init(None)
    workdir = args.workdir or tempfile.mkdtemp(prefix="gozcu-rtsp-")
    os.makedirs(workdir, exist_ok=True)
    recorded = record_file(workdir)
    has_h265 = Gst.ElementFactory.find("x265enc") is not None

    table = {
        "/h264-640x360-25": factory(h264(640, 360, 25, 25, 800)),
        "/h264-1280x720-15": factory(h264(1280, 720, 15, 45, 1500, "smpte")),
        "/h264-320x240-5": factory(h264(320, 240, 5, 10, 200)),
        # High profile (CABAC, 8x8 transforms), what most cameras send.
        "/h264-high-800x600-10": factory(
            h264(800, 600, 10, 20, 800, "smpte", profile="high", preset="veryfast")
        ),
        # High 4:4:4, which OpenH264 cannot decode: a real decode_error.
        "/h264-444": factory(
            h264(320, 240, 10, 10, 300, chroma="Y444", profile="high-4:4:4")
        ),
        "/shared-h264-640x360": factory(h264(640, 360, 25, 50, 800), shared=True),
        "/audio": factory(
            "( audiotestsrc is-live=true ! audio/x-raw,rate=8000,channels=1 "
            "! alawenc ! rtppcmapay name=pay0 pt=8 )"
        ),
        "/recorded": factory(
            f"( filesrc location={recorded} ! qtdemux ! h264parse "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        ),
    }
    if has_h265:
        table["/h265-640x360-25"] = factory(h265(640, 360, 25, 25))
    for n in range(args.cameras):
        # From the file: a benchmark's hundreds of cameras must not spend
        # the cores it measures on encoding.
        table[f"/cam/{n}"] = factory(
            f"( filesrc location={recorded} ! qtdemux ! h264parse "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
    open_server = server({}, table)

    # gst-rtsp-server answers 404, not 401, to a client that a default
    # (anonymous) token lets in but the mount refuses, and clients only send
    # credentials after a 401; so each authentication method gets a server
    # of its own whose every mount needs it.
    digest_server = server(
        {"method": GstRtsp.RTSPAuthMethod.DIGEST, "password": args.password},
        {"/secure": factory(h264(640, 360, 25, 25, 800), auth=True)},
    )
    basic_server = server(
        {"method": GstRtsp.RTSPAuthMethod.BASIC, "password": args.password},
        {"/basic": factory(h264(320, 240, 10, 10, 300), auth=True)},
    )

    loop = GLib.MainLoop()
    for each in (open_server, digest_server, basic_server):
        if each.attach(None) == 0:
            sys.exit("rtsp_server.py: cannot listen on 127.0.0.1")

    def on_stdin(_channel, _condition):
        # EOF (or an error) on stdin: the test process is gone.
        loop.quit()
        return False

    GLib.io_add_watch(
        GLib.IOChannel.unix_new(sys.stdin.fileno()),
        GLib.PRIORITY_DEFAULT,
        GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR,
        on_stdin,
    )
    print(
        json.dumps(
            {
                "port": open_server.get_bound_port(),
                "digest_port": digest_server.get_bound_port(),
                "basic_port": basic_server.get_bound_port(),
                "h265": has_h265,
                "mounts": sorted(table),
                "workdir": workdir,
            }
        ),
        flush=True,
    )
    loop.run()
    if args.workdir is None:
        # The recorded file lived in a folder of our own making.
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
