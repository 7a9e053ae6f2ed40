package dev.skep.support;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test (class or method) that needs more than a JDK and redis-server: where the machine lacks it, the test is
 * skipped and the run ends with a list of what was skipped and how to get it ({@link SkippedTiers}); under
 * {@code .ci/run} ({@link Need#ALL_TIERS}) it runs regardless and fails saying what to install.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@ExtendWith(NeedsCondition.class)
public @interface Needs {
    Need[] value();
}
