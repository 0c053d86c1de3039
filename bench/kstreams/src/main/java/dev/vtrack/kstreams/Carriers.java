package dev.vtrack.kstreams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The carrier registry read from vtrack's own {@code config/carriers.toml}: aliases, integrated
 * flags, hand-off partners, tracking-ID formats and their check digits (contract sections 3, 8).
 * Carriers are numbered 0..n-1 in file order; sets of carriers are {@code long} bit masks.
 */
public final class Carriers {
    public final List<String> codes = new ArrayList<>();
    final List<String> names = new ArrayList<>();
    final List<Boolean> integrated = new ArrayList<>();
    /** Per carrier: itself plus the carriers whose scans count for it (hand-off partners). */
    final List<Long> accepted = new ArrayList<>();
    /** Per carrier: its formats plus its partners' formats, as carrier masks ("family"). */
    final List<Long> family = new ArrayList<>();
    private final Map<String, Integer> aliases = new HashMap<>();
    private final Map<String, Integer> byCode = new HashMap<>();
    private final List<Format> formats = new ArrayList<>();
    private long integratedMask;

    public static Carriers load(Path file) throws IOException {
        JsonNode root = new TomlMapper().readTree(Files.readString(file));
        Carriers c = new Carriers();
        Map<String, List<String>> groupsOf = new HashMap<>();
        Map<String, List<String>> partnersOf = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("carriers").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String code = e.getKey();
            JsonNode n = e.getValue();
            int id = c.codes.size();
            c.codes.add(code);
            c.byCode.put(code, id);
            c.names.add(n.path("name").asText(code));
            boolean integ = n.path("integrated").asBoolean(false);
            c.integrated.add(integ);
            if (integ) c.integratedMask |= 1L << id;
            c.aliases.put(aliasKey(code), id);
            for (JsonNode a : n.path("aliases")) c.aliases.put(aliasKey(a.asText()), id);
            List<String> groups = new ArrayList<>();
            for (JsonNode g : n.path("formats")) groups.add(g.asText());
            groupsOf.put(code, groups);
            List<String> partners = new ArrayList<>();
            for (JsonNode p : n.path("handoff_partners")) partners.add(p.asText());
            partnersOf.put(code, partners);
        }
        // Which carriers use each format group.
        Map<String, Long> groupCarriers = new HashMap<>();
        for (String code : c.codes) {
            for (String g : groupsOf.get(code)) groupCarriers.merge(g, 1L << c.byCode.get(code), (a, b) -> a | b);
        }
        for (String code : c.codes) {
            int id = c.byCode.get(code);
            long acc = 1L << id;
            for (String p : partnersOf.get(code)) acc |= 1L << c.byCode.get(p);
            c.accepted.add(acc);
            c.family.add(acc); // a carrier's family: its formats and its partners'
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("formats").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            long carriers = groupCarriers.getOrDefault(e.getKey(), 0L);
            for (JsonNode f : e.getValue()) c.formats.add(Format.of(f, carriers));
        }
        return c;
    }

    /** Every character but ASCII letters and digits removed, upper-cased. */
    static String aliasKey(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch < 128 && Character.isLetterOrDigit(ch)) b.append(Character.toUpperCase(ch));
        }
        return b.toString();
    }

    /** The carrier id a seller's or carrier's entry resolves to, or -1 (unknown). */
    public int resolve(String entered) {
        if (entered == null) return -1;
        Integer id = aliases.get(aliasKey(entered));
        return id == null ? -1 : id;
    }

    public boolean isIntegrated(int id) {
        return id >= 0 && integrated.get(id);
    }

    public long acceptedMask(int id) {
        return id < 0 ? 0 : accepted.get(id);
    }

    /** The result of running every format over one normalised ID. */
    public static final class Match {
        long passes;
        long passesWithCheck;
    }

    public Match analyze(String id) {
        Match m = new Match();
        if (id == null || id.isEmpty()) return m;
        for (Format f : formats) {
            long set = f.check != null ? m.passesWithCheck : m.passes;
            if ((f.carriers & ~set) == 0) continue; // could add nothing
            if (id.length() > f.maxLength) continue;
            if (f.passes(id)) {
                m.passes |= f.carriers;
                if (f.check != null) m.passesWithCheck |= f.carriers;
            }
        }
        return m;
    }

    /** Integrated carriers with a format the ID passes, by code, alphabetical. */
    public List<String> detected(Match m) {
        TreeSet<String> out = new TreeSet<>();
        for (int i = 0; i < codes.size(); i++) {
            if ((m.passes & (1L << i)) != 0 && integrated.get(i)) out.add(codes.get(i));
        }
        return new ArrayList<>(out);
    }

    /** Format evidence for CARRIER_MISMATCH (contract section 8). */
    public boolean formatMismatch(int declared, Match m) {
        if (declared < 0) return false;
        if ((m.passes & family.get(declared)) != 0) return false;
        return (m.passesWithCheck & integratedMask & ~(1L << declared)) != 0;
    }

    public String displayName(int id) {
        return id < 0 ? "" : names.get(id);
    }

    // ---- formats ---------------------------------------------------------------------------

    static final class Format {
        Pattern regex;
        int maxLength = Integer.MAX_VALUE;
        long carriers;
        Check check;
        String serialPrefix;
        List<String[]> lookups = new ArrayList<>(); // {group, values joined}
        List<Set<String>> lookupValues = new ArrayList<>();

        static Format of(JsonNode f, long carriers) {
            Format x = new Format();
            x.carriers = carriers;
            x.regex = Pattern.compile(f.path("regex").asText());
            if (f.has("max_length")) x.maxLength = f.get("max_length").asInt();
            if (f.has("check_digit")) x.check = Check.of(f.get("check_digit"));
            if (f.has("serial_prefix")) x.serialPrefix = f.get("serial_prefix").asText();
            for (JsonNode l : f.path("lookups")) {
                Set<String> vals = new HashSet<>();
                for (JsonNode v : l.path("values")) vals.add(v.asText());
                x.lookups.add(new String[] {l.path("group").asText()});
                x.lookupValues.add(vals);
            }
            return x;
        }

        boolean passes(String id) {
            Matcher m = regex.matcher(id);
            if (!m.matches()) return false;
            for (int i = 0; i < lookups.size(); i++) {
                String v = m.group(lookups.get(i)[0]);
                if (v == null || !lookupValues.get(i).contains(v)) return false;
            }
            if (check == null) return true;
            String serial = m.group("SerialNumber");
            String cd = m.group("CheckDigit");
            if (serial == null || cd == null || cd.length() != 1) return false;
            if (serialPrefix != null && !serial.startsWith(serialPrefix)) serial = serialPrefix + serial;
            return check.expected(serial) == cd.charAt(0);
        }
    }

    /** Check-digit algorithms, as in vtrack's src/carriers/check_digit.rs. */
    static final class Check {
        String algorithm;
        int evens = 1, odds = 1, modulo = 10, modulo1, modulo2;
        boolean reverse;
        int[] weightings;
        String alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

        static Check of(JsonNode n) {
            Check c = new Check();
            c.algorithm = n.path("algorithm").asText();
            c.evens = n.path("evens_multiplier").asInt(1);
            c.odds = n.path("odds_multiplier").asInt(1);
            int defMod = switch (c.algorithm) {
                case "mod7" -> 7;
                case "s10" -> 11;
                case "mod_37_36" -> 36;
                default -> 10;
            };
            c.modulo = n.path("modulo").asInt(defMod);
            c.reverse = n.path("reverse").asBoolean(false);
            c.modulo1 = n.path("modulo1").asInt(11);
            c.modulo2 = n.path("modulo2").asInt(10);
            JsonNode w = n.path("weightings");
            if (w.isArray()) {
                c.weightings = new int[w.size()];
                for (int i = 0; i < w.size(); i++) c.weightings[i] = w.get(i).asInt();
            } else {
                c.weightings = new int[] {8, 6, 4, 2, 3, 5, 9, 7};
            }
            return c;
        }

        /** The expected check character, or 0 when the sequence cannot be read. */
        char expected(String s) {
            long v;
            switch (algorithm) {
                case "mod10": {
                    long total = 0;
                    int len = s.length();
                    for (int i = 0; i < len; i++) {
                        char ch = s.charAt(i);
                        int val;
                        if (ch >= '0' && ch <= '9') val = ch - '0';
                        else if (ch >= 'A' && ch <= 'Z') val = (ch - 3) % 10;
                        else return 0;
                        int pos = reverse ? len - 1 - i : i;
                        total += (long) val * (pos % 2 == 1 ? odds : evens);
                    }
                    v = complement(total, modulo);
                    break;
                }
                case "mod7": {
                    long rest = 0;
                    for (int i = 0; i < s.length(); i++) {
                        int d = digit(s.charAt(i));
                        if (d < 0) return 0;
                        rest = (rest * 10 + d) % Math.max(1, modulo);
                    }
                    v = rest;
                    break;
                }
                case "s10": {
                    long sum = weighted(s);
                    if (sum < 0) return 0;
                    long r = sum % Math.max(1, modulo);
                    v = r == 1 ? 0 : r == 0 ? 5 : modulo - r;
                    break;
                }
                case "luhn": {
                    long total = 0;
                    for (int i = s.length() - 1, k = 0; i >= 0; i--, k++) {
                        int d = digit(s.charAt(i));
                        if (d < 0) return 0;
                        int val = d * (k % 2 == 0 ? 2 : 1);
                        total += val > 9 ? val - 9 : val;
                    }
                    v = complement(total, modulo);
                    break;
                }
                case "mod_37_36": {
                    long m = Math.max(1, modulo);
                    long running = m;
                    for (int i = 0; i < s.length(); i++) {
                        char ch = s.charAt(i);
                        int val;
                        if (ch >= '0' && ch <= '9') val = ch - '0';
                        else if (ch >= 'A' && ch <= 'Z') val = ch - 'A' + 10;
                        else return 0;
                        running = (running + val) % m;
                        if (running == 0) running = m;
                        running = (running * 2) % (m + 1);
                    }
                    int idx = (int) ((m + 1 - running) % m);
                    return idx < alphabet.length() ? alphabet.charAt(idx) : 0;
                }
                case "sum_product_with_weightings_and_modulo": {
                    long sum = weighted(s);
                    if (sum < 0) return 0;
                    v = sum % Math.max(1, modulo1) % Math.max(1, modulo2);
                    break;
                }
                default:
                    return 0;
            }
            return v < 10 ? (char) ('0' + v) : 0;
        }

        private long weighted(String s) {
            long total = 0;
            for (int i = 0; i < s.length(); i++) {
                int d = digit(s.charAt(i));
                if (d < 0) return -1;
                total += (long) d * (i < weightings.length ? weightings[i] : 0);
            }
            return total;
        }

        private static int digit(char c) {
            return c >= '0' && c <= '9' ? c - '0' : -1;
        }

        private static long complement(long total, int modulo) {
            long m = Math.max(1, modulo);
            return (m - total % m) % m;
        }
    }
}
