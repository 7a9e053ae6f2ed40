package dev.skep.sentinel;

/**
 * Redis's glob-style matching of channel names against {@code PSUBSCRIBE} patterns: {@code *} any run of
 * characters, {@code ?} one character, {@code [abc]}, {@code [^a]} and {@code [a-z]} sets, {@code \x} a
 * literal {@code x}. Case-sensitive, like Redis for channels. Pure; any thread.
 */
final class Glob {
    private Glob() {}

    static boolean matches(String pattern, String text) {
        return match(pattern, 0, text, 0);
    }

    private static boolean match(String p, int pi, String s, int si) {
        while (pi < p.length()) {
            char c = p.charAt(pi);
            switch (c) {
                case '*' -> {
                    while (pi + 1 < p.length() && p.charAt(pi + 1) == '*') {
                        pi++;
                    }
                    if (pi + 1 == p.length()) {
                        return true;
                    }
                    for (int k = si; k <= s.length(); k++) {
                        if (match(p, pi + 1, s, k)) {
                            return true;
                        }
                    }
                    return false;
                }
                case '?' -> {
                    if (si >= s.length()) {
                        return false;
                    }
                    si++;
                    pi++;
                }
                case '[' -> {
                    if (si >= s.length()) {
                        return false;
                    }
                    int end = setEnd(p, pi);
                    if (!inSet(p, pi + 1, end, s.charAt(si))) {
                        return false;
                    }
                    si++;
                    pi = end + 1;
                }
                case '\\' -> {
                    if (pi + 1 < p.length()) {
                        pi++;
                    }
                    if (si >= s.length() || s.charAt(si) != p.charAt(pi)) {
                        return false;
                    }
                    si++;
                    pi++;
                }
                default -> {
                    if (si >= s.length() || s.charAt(si) != c) {
                        return false;
                    }
                    si++;
                    pi++;
                }
            }
        }
        return si == s.length();
    }

    /** Index of the {@code ]} closing the set opened at {@code open}, or the last index when unclosed. */
    private static int setEnd(String p, int open) {
        int i = open + 1;
        if (i < p.length() && p.charAt(i) == '^') {
            i++;
        }
        while (i < p.length() && p.charAt(i) != ']') {
            if (p.charAt(i) == '\\' && i + 1 < p.length()) {
                i++;
            }
            i++;
        }
        return Math.min(i, p.length() - 1);
    }

    private static boolean inSet(String p, int from, int end, char c) {
        boolean not = from < end && p.charAt(from) == '^';
        int i = not ? from + 1 : from;
        boolean found = false;
        int stop = p.charAt(end) == ']' ? end : end + 1;
        while (i < stop) {
            char a = p.charAt(i);
            if (a == '\\' && i + 1 < stop) {
                found |= p.charAt(i + 1) == c;
                i += 2;
            } else if (i + 2 < stop && p.charAt(i + 1) == '-') {
                char lo = (char) Math.min(a, p.charAt(i + 2));
                char hi = (char) Math.max(a, p.charAt(i + 2));
                found |= c >= lo && c <= hi;
                i += 3;
            } else {
                found |= a == c;
                i++;
            }
        }
        return not != found;
    }
}
