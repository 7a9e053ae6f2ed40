package dev.skep.sentinel;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GlobTest {
    @Test
    void patternsAsRedisMatchesThem() {
        assertThat(Glob.matches("*", "+switch-master")).isTrue();
        assertThat(Glob.matches("*", "")).isTrue();
        assertThat(Glob.matches("+s*", "+sdown")).isTrue();
        assertThat(Glob.matches("+s*", "-sdown")).isFalse();
        assertThat(Glob.matches("?sdown", "-sdown")).isTrue();
        assertThat(Glob.matches("[+-]sdown", "+sdown")).isTrue();
        assertThat(Glob.matches("[^+]sdown", "+sdown")).isFalse();
        assertThat(Glob.matches("[a-c]x", "bx")).isTrue();
        assertThat(Glob.matches("[a-c]x", "dx")).isFalse();
        assertThat(Glob.matches("\\*", "*")).isTrue();
        assertThat(Glob.matches("\\*", "a")).isFalse();
        assertThat(Glob.matches("a*b*c", "aXXbYYc")).isTrue();
        assertThat(Glob.matches("a*b*c", "aXXbYY")).isFalse();
        assertThat(Glob.matches("+switch-master", "+switch-master")).isTrue();
        assertThat(Glob.matches("announce-*", "ANNOUNCE-ip")).isFalse();
    }
}
