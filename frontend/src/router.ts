// Hash routes, so the gateway serves one index.html for every page: #/ (lobby), #/signin,
// #/rooms/<id>[?listen=1], #/voice (My voice: the cloned voice's samples).
import { useEffect, useState } from "react";

export type Route =
  | { page: "lobby" }
  | { page: "signin" }
  | { page: "room"; roomId: string; listenOnly: boolean }
  | { page: "voice" };

export const VOICE_HREF = "#/voice";

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/";
  const [pathname, search = ""] = path.split("?");
  const room = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  if (room) {
    const listen = new URLSearchParams(search).get("listen");
    return { page: "room", roomId: decodeURIComponent(room[1]), listenOnly: listen === "1" || listen === "true" };
  }
  if (pathname === "/signin") return { page: "signin" };
  if (pathname === "/voice" || pathname === "/voice/") return { page: "voice" };
  return { page: "lobby" };
}

export function roomHref(roomId: string, listenOnly = false): string {
  return `#/rooms/${encodeURIComponent(roomId)}${listenOnly ? "?listen=1" : ""}`;
}

export function navigate(href: string): void {
  window.location.hash = href.replace(/^#/, "");
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
