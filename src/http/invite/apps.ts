// Which XMPP apps the invite page suggests, by the visitor's platform as its User-Agent tells
// it (as Prosody's mod_invites_page does): Android, iOS, desktop, or any other (the web form).
// Each of these apps opens xmpp:…?register;preauth=… links (XEP-0401), so the invitation
// carries over into the app. A guess from the User-Agent only orders the list: every platform
// stays listed for a visitor it guessed wrong.

export type Platform = "android" | "ios" | "desktop" | "other";

export interface App {
  name: string;
  /** Where to get it, by store: label → URL. */
  links: Array<{ label: string; url: string }>;
}

export const APPS: Record<Exclude<Platform, "other">, { title: string; apps: App[] }> = {
  android: {
    title: "Android",
    apps: [
      {
        name: "Conversations",
        links: [
          { label: "F-Droid", url: "https://f-droid.org/packages/eu.siacs.conversations/" },
          { label: "Google Play", url: "https://play.google.com/store/apps/details?id=eu.siacs.conversations" },
        ],
      },
      {
        name: "Cheogram",
        links: [
          { label: "F-Droid", url: "https://f-droid.org/packages/com.cheogram.android/" },
          { label: "Google Play", url: "https://play.google.com/store/apps/details?id=com.cheogram.android" },
        ],
      },
    ],
  },
  ios: {
    title: "iPhone and iPad",
    apps: [
      { name: "Monal", links: [{ label: "monal-im.org", url: "https://monal-im.org/" }] },
      { name: "Siskin IM", links: [{ label: "siskin.im", url: "https://siskin.im/" }] },
    ],
  },
  desktop: {
    title: "Windows, macOS and Linux",
    apps: [
      { name: "Gajim", links: [{ label: "gajim.org", url: "https://gajim.org/download/" }] },
      { name: "Dino", links: [{ label: "dino.im", url: "https://dino.im/" }] },
    ],
  },
};

/** The platform a User-Agent names; "other" when it names none we know (or none at all). */
export function platformOf(userAgent: string | undefined): Platform {
  const ua = userAgent ?? "";
  if (/Android/i.test(ua)) return "android";
  if (/iPhone|iPad|iPod/i.test(ua)) return "ios";
  if (/Windows NT|Macintosh|Mac OS X|X11|Linux|CrOS/i.test(ua)) return "desktop";
  return "other";
}
