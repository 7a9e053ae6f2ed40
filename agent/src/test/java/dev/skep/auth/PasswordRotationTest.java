package dev.skep.auth;

import dev.skep.auth.PasswordRotation.Step;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PasswordRotationTest {
    private static final long WINDOW = 1000;

    @Test
    void theSamePasswordInTheFileChangesNothing() {
        PasswordRotation r = PasswordRotation.steady("one");
        assertThat(r.next("one", false, 0, WINDOW)).isInstanceOf(Step.Wait.class);
        assertThat(r.accepted()).containsExactly("one");
    }

    @Test
    void aNewPasswordIsAcceptedThenUsedOnceTheHiveHasItThenTheOldOneRetiredAfterTheWindow() {
        PasswordRotation r = PasswordRotation.steady("one");
        Step accept = r.next("two", false, 0, WINDOW);
        assertThat(accept).isEqualTo(new Step.Accept("two"));
        r = r.after(accept, 0);
        assertThat(r.accepted()).containsExactly("one", "two");
        assertThat(r.inUse()).isEqualTo("one");

        // not every redis has it yet: the agent keeps using the old one
        assertThat(r.next("two", false, 10, WINDOW)).isInstanceOf(Step.Wait.class);
        Step use = r.next("two", true, 20, WINDOW);
        assertThat(use).isEqualTo(new Step.Switch("two", "one"));
        r = r.after(use, 20);
        assertThat(r.inUse()).isEqualTo("two");
        assertThat(r.accepted()).containsExactly("two", "one");

        assertThat(r.next("two", true, 20 + WINDOW - 1, WINDOW)).isInstanceOf(Step.Wait.class);
        Step retire = r.next("two", true, 20 + WINDOW, WINDOW);
        assertThat(retire).isEqualTo(new Step.Retire("one"));
        r = r.after(retire, 20 + WINDOW);
        assertThat(r).isEqualTo(PasswordRotation.steady("two"));
        assertThat(r.accepted()).containsExactly("two");
    }

    @Test
    void aPasswordChangedAgainBeforeTheHiveTookTheLastIsAcceptedInItsPlace() {
        PasswordRotation r = PasswordRotation.steady("one").after(new Step.Accept("two"), 0);
        Step again = r.next("three", true, 5, WINDOW);
        assertThat(again).isEqualTo(new Step.Accept("three"));
        assertThat(r.after(again, 5).accepted()).containsExactly("one", "three");
    }

    @Test
    void anEmptyFileIsNoNewPassword() {
        assertThat(PasswordRotation.steady("one").next("", true, 0, WINDOW)).isInstanceOf(Step.Wait.class);
    }
}
